# Which chats the bot serves, and what a resident reads when something breaks on our side.

private-only =
    I work in private chats only: readings, addresses and account history are not for a group. Write to me directly — find me in Telegram search and press “Start”.

error-internal =
    Something went wrong on our side; nothing was saved. Please try again in a few minutes; if it keeps happening, contact support: { $support }.

error-telegram =
    Telegram did not deliver my answer (a fault on its side). What you did may already be done: a reading is never saved twice, so simply repeat your last step in a minute, or check in “{ menu-history }”. If it keeps happening, contact support: { $support }.

# Which chats the bot serves, and what a resident reads when something breaks on our side.

private-only =
    I work in private chats only: readings, addresses and account history are not for a group. Write to me directly — find me in Telegram search and press “Start”.

error-internal =
    Something went wrong on our side; nothing was saved. Please try again in a few minutes; if it keeps happening, contact support: { $support }.

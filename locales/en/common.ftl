cmd-start = Start / main menu
cmd-submit = Submit readings
cmd-meters = My meters
cmd-history = Reading history
cmd-accounts = Accounts
cmd-settings = Settings and reminders
cmd-language = Language / Язык
cmd-help = Help and answers
cmd-cancel = Cancel what is in progress
cmd-forget = Erase my data from the bot

menu-submit = 📝 Submit readings
menu-meters = 🔢 My meters
menu-history = 📊 History
menu-accounts = 🏠 Accounts
menu-settings = ⚙️ Settings
menu-help = ❓ Help

start-welcome =
    Hello{ $name ->
        [none] {""}
       *[other] , { $name }
    }! I take meter readings for water, electricity, gas and heat.

    To begin, link your account: you will need the account number from your bill and the phone number in your contract. A code will come to that phone by SMS.
start-linked =
    Welcome back{ $name ->
        [none] {""}
       *[other] , { $name }
    }! Choose what to do in the menu.
menu-shown = Choose what to do in the menu below.
menu-not-linked = To submit readings, link your account first: send /start.

cancelled = Cancelled; nothing was saved.
nothing-to-cancel = There is nothing to cancel.
unknown-command = I don't know that command.
unknown-text = I didn't understand that. Use the menu buttons or send /help.
edit-not-read = I don't re-read an edited message: I took what it said at first. Send the correction as a new message.
button-stale = This button no longer works. Open the menu again.
error-generic = Something went wrong on my side; your saved data is safe. Please try again in a minute; if it keeps failing, contact support: { $support }.

language-choose = Выберите язык / Choose your language:
language-set = Done, I'll speak English now.

help-text =
    <b>How to submit readings</b>
    Press "📝 Submit readings": I will ask, one by one, for every meter that has no reading this month yet. Type only the whole part — the black digits. The red digits (after the decimal point) don't count; I drop them myself.

    <b>What are the red digits?</b>
    Fractions of a cubic metre (litres) or of a kilowatt-hour. Only the whole part is billed.

    <b>I missed the deadline — what now?</b>
    Readings are accepted { $window } (some meters have their own days — I'll show them). After the deadline you are billed by the average, and from the third month by the standard rate. Submit in the next window: the bill is recalculated from the actual consumption.

    <b>My meter is broken or was replaced</b>
    Don't type a guess. Tell support, and have the meter replaced or verified; a new meter appears in the bot once it is in the billing system.

    <b>Readings of earlier months</b>
    "📊 History" shows the last 12 periods of every meter and can send a file with the whole history.

    <b>How do I know a reading was counted?</b>
    After you confirm, I send a receipt with a number, the time and the values. You can find it in "📊 History" too. No receipt means nothing was saved.

    <b>Verification</b>
    I remind you in advance when a meter's verification falls due.

    <b>Write to the billing centre</b>
    "✉️ Write to us" or /appeal: a meter broken or replaced, a wrong previous reading, verification, a bill question, or anything else. You can attach photos and documents. The answer comes to this chat, usually within { $hours } h; /appeals lists your appeals.

    <b>Commands</b>: /start, /accounts — accounts, /settings — reminders and language, /language, /cancel — cancel, /forget — erase my data.

    Support: { $support }

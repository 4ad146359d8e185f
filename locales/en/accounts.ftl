accounts-title = <b>Your accounts</b> (✅ — current):
accounts-none = No account is linked to this chat.
accounts-none-left = No linked accounts left. To link one, send /start.
accounts-add = ➕ Link another account
accounts-switch = Switch to { $account }
accounts-unlink = Unlink { $account }
accounts-unlink-confirm = Unlink account <b>{ $account }</b> from this chat? Readings already submitted are kept.
accounts-unlink-yes = Yes, unlink
accounts-unlink-no = No, keep it
accounts-unlinked = The account is unlinked.
accounts-unlink-kept = Fine, the account stays linked.

forget-confirm =
    Erase everything the bot keeps about this chat: account links, settings, codes and unfinished actions?
    Readings already submitted stay with the account, without any link to this chat.
forget-yes = Yes, erase
forget-no = Cancel
forget-done = This chat's data is erased.
forget-bye = Done, I have forgotten everything. To start again, send /start.
forget-kept = Fine, nothing was erased.

settings-title = <b>Settings</b>. Tap to turn a reminder on or off.
settings-remind-opening = { $on ->
    [true] 🔔
   *[false] 🔕
} Window opens
settings-remind-closing = { $on ->
    [true] 🔔
   *[false] 🔕
} Window closes soon
settings-remind-verification = { $on ->
    [true] 🔔
   *[false] 🔕
} Verification due
settings-language = 🌐 Перейти на русский

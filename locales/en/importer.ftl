notice-phone-changed =
    Account <b>{ $account }</b> is no longer linked to this chat: the phone number on file for it has changed at the billing centre (the flat may have a new owner, say).
    If the account is yours, link it again with /start: the code goes to the new number. If the number was changed by mistake, contact support: { $support }.

link-ask-account =
    Type your account number from the bill — digits only, e.g. <code>5012345678</code>.
link-account-malformed =
    That doesn't look like an account number. It is 6 to 12 digits, printed at the top of your bill, e.g. <code>5012345678</code>. Please type it again.
link-ask-phone =
    Now the phone number in the contract for this account. Press "Share my number" or type it, e.g. <code>+7 916 123-45-67</code>.
link-share-phone = 📱 Share my number
link-contact-not-own = That is someone else's contact. Press "Share my number" to send your own, or type the number.
link-phone-invalid = I couldn't read that phone number. Type it in full, e.g. <code>+7 916 123-45-67</code> or <code>89161234567</code>.
link-code-sent =
    If the account number and phone match our records, an SMS with a 6-digit code is on its way to that phone. Type the code here.

    No code within a couple of minutes? Press "Send again". If the phone in your contract is out of date, contact support: { $support }.
link-resend = 🔁 Send again
link-restart = ↩️ Start over
link-resend-too-soon =
    You can ask for a new code in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }. Then press "Send again".
link-daily-limit = No more codes today: the daily limit is reached. Try again tomorrow or contact support: { $support }.
link-sms-unavailable = Sending SMS is paused for now. Please try again in a few hours or contact support: { $support }.
link-code-shape = The code is the 6 digits from the SMS. Type it, e.g. <code>123456</code>.
link-code-wrong =
    Wrong code. { $left ->
        [one] { $left } try left.
       *[other] { $left } tries left.
    }
link-code-expired = The code has expired or is no longer valid. Press "Send again" to get a new one.
link-code-exhausted = Too many wrong tries; this code no longer works. Ask for a new code.
link-done =
    ✅ Done! Account <b>{ $account }</b> is linked.
    { $address }

    You can submit readings now — the buttons are below.
link-already = Account <b>{ $account }</b> is already linked to this chat. { $address }
link-alert =
    ⚠️ On { $when } another Telegram chat linked account <b>{ $account }</b> (name: { $name }).
    If that wasn't you or your family, contact support at once: { $support }.

sms-bot-name = Meter readings bot
sms-code-text = Code for "{ $bot }": { $code }. Don't share it with anyone.

admin-sms-budget = ⚠️ The daily SMS budget ({ $budget }) is spent: the bot sends no codes until it frees up. Raise SMS_DAILY_BUDGET or check for abuse.

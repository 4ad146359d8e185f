admin-sms-refused =
    ⚠️ The SMS gateway refuses to send codes: status { $status } ({ $reason }). Residents get no codes to link their accounts. Failed sends in the last hour: { $failed }.
    { $cause ->
        [balance] Top up the balance in the gateway's account.
        [sender] The sender name is not approved: have it approved in the gateway's account.
        [account] The gateway does not accept the credentials: check SMSRU_API_ID and the state of the account.
       *[other] Check the balance and the sender name in the gateway's account.
    } The next such warning comes an hour from now at the earliest.
admin-sms-down =
    ⚠️ The SMS gateway does not answer (retries did not help): residents get no codes to link their accounts. Failed sends in the last hour: { $failed }.
    Check that the gateway is reachable. The next such warning comes an hour from now at the earliest.

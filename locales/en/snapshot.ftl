# The billing system's accounts snapshot: closed accounts, replaced meters (SPEC §10)

notice-account-closed =
    Account <b>{ $account }</b> was closed at the billing centre and is no longer linked to this chat. The readings you submitted are kept.
    If this is a mistake, contact support: { $support }.
notice-meter-replaced =
    On account <b>{ $account }</b>, meter No. { $old } was replaced with a new one, No. { $new }. The old meter's readings are kept in the history; submit new readings for the new meter.
    If this is a mistake, contact support: { $support }.
submit-meter-replaced = Not saved: meter { $title } was replaced with a new one (as the billing centre reports). Its earlier readings are kept in the history. Open "Submit readings" again: the new meter is in the list now. If this is wrong, contact support: { $support }.
submit-meter-closed = Not saved: meter { $title } is no longer in the billing centre's records. Its earlier readings are kept in the history. If this is wrong, contact support: { $support }.
history-meter-closed = <b>{ $title }</b> (removed, readings kept)
admin-sync-failed = ⚠️ The billing system's daily accounts snapshot was not loaded: { $reason }. Nothing was changed; check the file and run <code>python -m bot sync</code>.

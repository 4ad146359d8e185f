# Readings and the billing system (SPEC §10)

notice-billing-refused =
    ⚠️ The billing centre did not accept the readings of receipt no. <b>{ $receipt }</b> ({ meters-resource }, meter …{ $meter }, period { $period }).
    Reason: { $reason }
    Check the readings and submit them again with "Submit readings" while the window is open. If they are right, contact support: { $support }.
notice-billing-refused-plain =
    ⚠️ The billing centre did not accept the readings of receipt no. <b>{ $receipt }</b> ({ meters-resource }, meter …{ $meter }, period { $period }).
    Check the readings and submit them again with "Submit readings" while the window is open. If they are right, contact support: { $support }.
alert-billing-gone = ⛔ The billing system answered 410 Gone: readings are no longer posted to BILLING_WEBHOOK_URL; the events wait. Set a new BILLING_WEBHOOK_URL or, once the address works again, run <code>python -m bot outbox --retry-dead</code>.
alert-billing-dead = ⚠️ Readings not delivered to the billing system after three days of tries: { $count }. Details and sending again: <code>python -m bot outbox</code>, <code>python -m bot outbox --retry-dead</code>.
stats-outbox =
    <b>Billing system</b>
    Waiting: { $pending }
    Delivered: { $delivered }, refused: { $refused }, dead after three days: { $dead }
stats-outbox-oldest = The oldest has waited { $minutes } min.
stats-outbox-stopped = ⛔ Delivery stopped: the billing system answered 410 Gone.
stats-outbox-off = Delivery to the billing system is off (BILLING_WEBHOOK_URL is not set).

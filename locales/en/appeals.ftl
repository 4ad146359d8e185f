# Appeals (SPEC §11): the resident's side
menu-appeal = ✉️ Write to us
cmd-appeal = Write to the billing centre
cmd-appeals = My appeals

appeal-topic = { $topic ->
    [meter] Meter broken or replaced
    [previous] Wrong previous reading
    [verification] Meter verification
    [bill] Bill question
   *[other] Other
}

appeal-off = Appeals through the bot are not taken at the moment. Please contact support: { $support }
appeal-too-many = You already have { $count } open { $count ->
    [one] appeal
   *[other] appeals
}, the most allowed. Wait for an answer, or add to an open appeal: just send a message to this chat.
appeal-ask-topic =
    <b>Write to the billing centre</b>
    Pick the topic. The answer comes here, to this chat, usually within { $hours } h.
appeal-ask-text = Topic: <b>{ $topic }</b>. Describe your question in one message (up to 4,000 characters). You can attach photos and documents at the next step.
appeal-pick-topic = Pick the topic with a button under the message above, or /cancel to leave it.
appeal-start-again = The draft of your appeal was lost. Please start again: /appeal
appeal-too-long = The text is too long: { $length } characters, at most { $limit }. Please shorten it and send it again.
appeal-ask-attachments = Attach photos or documents (up to { $limit }) if you like, a photo of the meter say. When you are done, press "Review and send".
appeal-text-added = Added to the text of your appeal. You can attach photos or documents, or press "Review and send".
appeal-attachments-full = An appeal takes at most { $limit } files. This one was not added.
appeal-attached-ask-text = File attached ({ $count }). Now describe your question in words.
appeal-attached = Files attached: { $count } of { $limit }. Add more, or press "Review and send".
appeal-unsupported = Please send text, a photo or a document: stickers, voice and video messages cannot be taken into an appeal.
appeal-preview =
    <b>Check your appeal</b>
    Topic: { $topic }
    Files: { $count }

    { $text }
appeal-preview-button = 👀 Review and send
appeal-send-button = ✅ Send
appeal-cancel-button = ✖️ Cancel
appeal-cancelled = The appeal was not sent; the draft is deleted.
appeal-sent = Appeal <b>{ $number }</b> is sent. The answer comes to this chat, usually within { $hours } h. To add something, just write here.
appeal-waiting = Appeal <b>{ $number }</b> is saved, but the billing centre cannot take it just now. We will pass it on as soon as it can; nothing is lost. If it is urgent: { $support }
appeal-follow-up = Added to appeal { $number }.
appeal-follow-up-waiting = Saved with appeal { $number }; it goes to the billing centre as soon as it can take it.
appeal-list-none = You have no appeals yet. Write to the billing centre: /appeal
appeal-list-title = <b>Your appeals</b>
appeal-list-item = { $number } · { $topic } · { $date } — { $status ->
    [open] { $answered ->
        [yes] open, answered
       *[no] open, waiting for an answer
    }
   *[closed] closed{ $rating ->
        [0] {""}
       *[other] , your rating { $rating }/5
    }
}
appeal-from-centre = 🏢 <b>Billing centre</b> · appeal { $number }
appeal-edited = 🏢 <b>Billing centre</b> corrected its message on appeal { $number }:

    { $text }
appeal-closed = Appeal <b>{ $number }</b> is closed. Please rate the answer from 1 to 5:
appeal-rated = Thank you! Your rating of appeal { $number }: { $rating }/5.

# Appeals: the operators' forum chat (in DEFAULT_LOCALE)
appeal-topic-name = { $number } · { $topic } · { $account }
appeal-topic-resident = 👤 <b>{ $name }</b>:
    { $text }
appeal-card-title = <b>Appeal { $number }</b> · { $topic }
appeal-card-name = Resident: { $name }
appeal-card-no-account = No account linked.
appeal-card-account =
    Account: <b>{ $account }</b>
    Address: { $address }
appeal-card-meters = Meters:
appeal-card-meter = • { $resource } { $serial }: { $last }; { $state }
appeal-card-period = { $done ->
    [true] { $period } submitted
   *[false] { $period } not submitted
}
appeal-card-window-closed = window closed, opens { $opens }
appeal-note-blocked = ⚠️ The resident blocked the bot: the answer on appeal { $number } was not delivered.
appeal-note-undelivered = ⚠️ The answer on appeal { $number } could not be delivered to the resident.
appeal-note-forgotten = ℹ️ The resident erased their data from the bot (/forget): appeal { $number } is closed and can no longer be answered here.
appeal-note-closed = ✅ Appeal { $number } is closed; the resident is told.
appeal-note-closed-blocked = ✅ Appeal { $number } is closed. ⚠️ The resident blocked the bot: they were not told.
appeal-note-closed-untold = ✅ Appeal { $number } is closed. ⚠️ The resident could not be told.
appeal-note-already-closed = ⚠️ Appeal { $number } is closed already: this message was not sent to the resident.
appeal-note-not-copied = ⚠️ This message was not passed on to the resident: the bot passes on text, photos, documents, videos, audio, voice messages and stickers.
appeal-note-rated = ⭐ The resident rated the answer on appeal { $number }: { $rating }/5.
appeal-note-attachment-gone = ℹ️ The resident deleted one of the files of appeal { $number } before it could be passed on.
appeal-overdue = ⏰ Appeal <a href="{ $link }">{ $number }</a> ({ $topic }) has waited for an answer for { $hours } h.
appeal-admin-desk-away = ⚠️ Residents' appeals do not reach the operators' chat (OPERATOR_CHAT_ID): { $reason }. Check that the chat exists, is a forum, and the bot is an admin there allowed to manage topics. The appeals are kept and will be delivered when the chat works.
appeal-desk-not-a-topic = This command works in the topic of an open appeal.
appeal-desk-none-open = No open appeals.
appeal-desk-list-title = <b>Open appeals: { $count }</b> (oldest first)
appeal-desk-list-item = { $number } · { $topic } · since { $date } — { $waiting ->
    [yes] waiting { $hours } h
   *[no] answered
}{ $delivered ->
    [no] , not yet in the chat
   *[yes] {""}
}

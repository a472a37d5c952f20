// AnnounceToEcmpush: a general event trigger script for a workflow step's "Step Ready" event.
// It tells the ecmpush relay the step's three ids; the relay reads the step itself through the
// REST API and posts the push event (senders/oscript/README.md).
// Lines marked CONFIRM are not shown by any public source we could read: check each against
// your Content Server's SDK before use.

Function Boolean AnnounceToEcmpush( \
	Object prgCtx, \
	WAPIWORK work, \
	Integer workID, \
	Integer subWorkID, \
	Integer taskID, \
	Integer returnSubWorkID, \
	Integer returnTaskID, \
	Dynamic extraData = Undefined )	// CONFIRM: the prototype in GeneralCallbackScripts.ODocumentation()

	String url = .fRelayStepsUrl	// a feature you set: "http://<relay host>:8787/steps"
	String token = .fRelayToken	// a feature you set: the relay's forward token
	// CONFIRM: that Str.Format writes the Integer ids as plain decimal digits.
	String body = Str.Format( "process_id=%1&subprocess_id=%2&task_id=%3", workID, subWorkID, taskID )
	Assoc headers = Assoc.CreateAssoc()
	headers.( "Content-Type" ) = "application/x-www-form-urlencoded"
	headers.( "Authorization" ) = "Bearer " + token

	// CONFIRM: the HTTP call. No public source shows OScript's HTTP client: write _HttpPost
	// (a utility script of this object; "_" keeps it off the Event Scripts tab) with yours,
	// POSTing body to url with these headers, a timeout of at most 10 seconds, no retries.
	Dynamic answer = ._HttpPost( url, headers, body, 10 )

	if IsError( answer )
		Echo( "ecmpush: announcing step ", body, " failed: ", answer )	// poll sends it later
	end

	return FALSE	// CONFIRM: the value that leaves the step ready (the SDK: TRUE completes it)
End

// Package audit writes s3seal's audit log: one JSON object per line and per
// finished request, fed from gateway.Config.Observe.
//
// A line holds exactly these fields:
//
//	{"time":"2026-01-02T15:04:05.123456789Z","request_id":"…","access_key":"…",
//	 "parent_user":"","anonymous":false,
//	 "operation":"PutObject","bucket":"…","object":"…","key_id":"…",
//	 "encrypted":true,"status":200,"bytes_in":1024,"bytes_out":0,"duration_ms":3.2}
//
// time is when the request arrived (UTC); access_key is the key the
// request was signed with, temporary (STS) keys included, and empty for
// anonymous requests (anonymous true) and for requests refused before
// they authenticated; parent_user is the long-term key temporary
// credentials were issued to; key_id is the KMS key that sealed
// or unsealed the object key, empty for SSE-C and plaintext; duration_ms is
// a float. The log never holds secrets: no secret keys, session tokens,
// signatures, headers, SSE-C keys or data keys, because gateway.RequestInfo carries none.
package audit

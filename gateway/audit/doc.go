// Package audit writes s3seal's audit log: one JSON object per line and per
// finished request, fed from gateway.Config.Observe.
//
// A line holds exactly these fields:
//
//	{"time":"2026-01-02T15:04:05.123456789Z","request_id":"…","access_key":"…",
//	 "operation":"PutObject","bucket":"…","object":"…","key_id":"…",
//	 "encrypted":true,"status":200,"bytes_in":1024,"bytes_out":0,"duration_ms":3.2}
//
// time is when the request arrived (UTC); key_id is the KMS key that sealed
// or unsealed the object key, empty for SSE-C and plaintext; duration_ms is
// a float. The log never holds secrets: no secret keys, signatures,
// headers, SSE-C keys or data keys, because gateway.RequestInfo carries none.
package audit

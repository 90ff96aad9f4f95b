// Package console is s3seal's web console for operators: which bucket is
// encrypted under which key, objects and their encryption, KMS keys and
// their use, users and their policies, and the gateway's health, in server-rendered pages
// (html/template, embedded with go:embed) with a little JavaScript for
// uploads. cmd/s3seal serves it on its own listener
// (S3SEAL_CONSOLE_ADDRESS), apart from the S3 data path.
//
// # The console decides nothing about access
//
// Every action is an S3 or admin request (ListBuckets, PutBucketEncryption,
// PutObject, KMSCreateKey, AddUser, ...) signed with the logged-in user's access key
// and secret and served by the gateway's own http.Handler in this process
// (inProcess, transport.go): the gateway authenticates it (SigV4) and
// authorises it (operationAccess, identity and bucket policies) exactly as
// it would a client's, logs it, audits it and counts it. A user sees and
// may do in the console what their policies let them do with mc or an SDK,
// nothing more; errors are the S3, KMS or admin error the gateway answered, in
// words. Login is one such request (ListBuckets): a signature the gateway
// refuses is a failed login.
//
// # Users
//
// The users page (users.go) speaks MinIO's admin IAM API as mc does:
// list-users, add-user, set-user-status, remove-user,
// idp/builtin/policy/attach and detach, list-canned-policies. The bodies
// that carry secrets (a new user, the listing, policy attachments) are
// encrypted under the logged-in user's secret with internal/madmincrypt,
// the gateway's own implementation. A new user's secret is sent once and
// never rendered, not even back into a form that failed.
//
// # Sessions
//
// The session, including the user's secret key (needed to sign as them),
// lives in a cookie sealed with AES-256-GCM under the session key
// (session.go): Secure, HttpOnly, SameSite=Strict, expiring after the
// session TTL. The server keeps no session table, so replicas that share
// the key (S3SEAL_CONSOLE_SESSION_KEY) serve each other's sessions; without
// one each process draws its own and sessions end with it. Logout clears
// the cookie and revokes the session on the replica that served it (other
// replicas honour a copied cookie until it expires).
//
// # Forms
//
// Every state change is a POST (PUT for uploads) carrying the session's
// synchronizer token (form field csrf or header X-CSRF-Token); requests a
// browser marks as cross-site (Sec-Fetch-Site, Origin) are refused too. The
// login form has a token bound by HMAC to a nonce cookie. Failed logins are
// audited (operation ConsoleLogin) and limited per source address
// (ratelimit.go). Form bodies are limited to 64 KiB; uploads stream to the
// gateway with their length known, downloads stream back, both under the
// gateway's idle deadlines on the browser's connection.
package console

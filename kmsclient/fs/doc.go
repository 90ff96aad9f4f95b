// Package fs is a kmsclient.KeyStore that keeps one file per key in a local
// directory: the single-node default.
//
// Files are created with mode 0600 in a directory created with mode 0700.
// A key file is written completely to a temporary file, synced, and then
// hard-linked to its name, which fails if the name exists; so a key file
// is never seen half-written, never overwritten, and of concurrent
// creates of one name (in one process or several sharing the directory)
// exactly one succeeds. Only valid key names become file names, so no
// name can escape the directory. Temporary files start with a dot, which
// no key name does, and are never listed.
package fs

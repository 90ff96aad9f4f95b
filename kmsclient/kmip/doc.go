// Package kmip is a kmsclient.KeyStore on a KMIP server (KMIP 1.0 to 1.4)
// reached over mutual TLS, through github.com/ovh/kmip-go.
//
// Each key is one Secret Data object (type Password, key format Opaque)
// whose Name attribute is the key name and whose bytes are the stored
// value, the embedded KMS's JSON key record: the same bytes every other
// store keeps, so keys move between stores unchanged (s3seal kms migrate).
// Symmetric Key objects would let the server see an AES key, but could
// not hold a rotated key's versions or the record's metadata.
//
// Operations: Create is Locate then Register (see Store.Create for how a
// name gets one owner on servers that allow duplicate names), Get is
// Locate then Get, Delete is Locate then Destroy, List is Locate of every
// Secret Data object and batched Get Attributes of their names (KMIP 1.x
// has no prefix match), Status is Discover Versions. The store does not
// implement kmsclient.KeyUpdater: KMIP cannot replace an object's value,
// let alone conditionally, so keys on KMIP cannot be rotated
// (kmsclient.ErrRotationUnsupported).
//
// Errors: a key the server does not have is kmsclient.ErrKeyNotFound;
// failing to connect, a broken connection or a call over the timeout
// (Config.Timeout, connecting included) wraps kmsclient.ErrUnavailable and
// drops the connection, which the next call makes again; an operation the
// server refuses is an error naming the operation and the KMIP result
// reason.
//
// Tested against PyKMIP 0.10 (Debian's pykmip-server): it supports Secret
// Data, Register, Locate by Name and Object Type, Get, Get Attributes,
// Destroy and batches, numbers objects with increasing decimal
// identifiers, and does not refuse duplicate names.
package kmip

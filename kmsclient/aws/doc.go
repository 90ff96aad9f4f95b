// Package aws is a kmsclient.KeyStore over AWS Secrets Manager, optionally
// protected by an AWS KMS key, as KES's AWS key store.
//
// Each key is one secret named after the key. A value that is valid UTF-8
// (the embedded KMS's JSON records always are) is stored as SecretString,
// so a KES server over the same secrets reads it; anything else as
// SecretBinary. With Config.KMSKey set, secrets are created with that KMS
// key, and the store checks the key's state before reading or creating a
// secret, so a disabled or deleted KMS key gives ErrKMSKeyUnusable rather
// than a late or vague failure.
//
// Errors are translated here: ResourceNotFoundException is
// kmsclient.ErrKeyNotFound, ResourceExistsException is
// kmsclient.ErrKeyExists, and network failures, timeouts, throttling and
// 5xx answers (after the SDK's bounded retries) wrap
// kmsclient.ErrUnavailable.
//
// Delete removes a secret without a recovery window. Secrets Manager
// finishes such a deletion in the background, so creating the same name
// again at once may briefly fail on AWS.
//
// Minimal IAM permissions: secretsmanager:CreateSecret, GetSecretValue,
// DeleteSecret, ListSecrets; with a KMS key also kms:DescribeKey, Decrypt,
// Encrypt and GenerateDataKey on that key.
package aws

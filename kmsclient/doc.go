// Package kmsclient is the KMS as the gateway sees it.
package kmsclient

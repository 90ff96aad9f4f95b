// Package keystoretest is the conformance suite every kmsclient.KeyStore
// runs in its tests, so that all stores keep one contract.
package keystoretest

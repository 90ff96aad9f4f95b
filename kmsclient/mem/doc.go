// Package mem is a volatile, in-memory kmsclient.KeyStore for tests and
// throwaway setups. Keys vanish with the process.
package mem

package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
)

// instrumentedStore counts the calls the embedded KMS makes to its key
// store: the round trips to a file system or a remote secret store that
// its key cache exists to avoid.
type instrumentedStore struct {
	next kmsclient.KeyStore
	m    *Metrics
}

// instrumentedUpdater is an instrumentedStore over a store that can also
// replace a value (kmsclient.KeyUpdater), which key rotation needs.
type instrumentedUpdater struct {
	instrumentedStore
	updater kmsclient.KeyUpdater
}

var (
	_ kmsclient.KeyStore   = (*instrumentedStore)(nil)
	_ kmsclient.KeyUpdater = (*instrumentedUpdater)(nil)
	_ fmt.Stringer         = (*instrumentedStore)(nil)
)

// WrapKeyStore returns a kmsclient.KeyStore that forwards every call to s
// unchanged (results and errors included) and counts it in
// s3seal_keystore_requests_total{call,result}; the call label is the
// method name, the result label is as for WrapKMS. The wrapper implements
// kmsclient.KeyUpdater exactly when s does, and its String is s's, or
// "embedded" (what kmsclient reports for a store without one).
func (m *Metrics) WrapKeyStore(s kmsclient.KeyStore) kmsclient.KeyStore {
	is := instrumentedStore{next: s, m: m}
	if u, ok := s.(kmsclient.KeyUpdater); ok {
		return &instrumentedUpdater{instrumentedStore: is, updater: u}
	}
	return &is
}

func (s *instrumentedStore) observe(call string, start time.Time, err error) {
	s.m.keystoreRequests.WithLabelValues(call, kmsResult(err)).Inc()
	s.m.keystoreDuration.WithLabelValues(call).Observe(time.Since(start).Seconds())
}

func (s *instrumentedStore) Create(ctx context.Context, name string, value []byte) error {
	start := time.Now()
	err := s.next.Create(ctx, name, value)
	s.observe("Create", start, err)
	return err
}

func (s *instrumentedStore) Get(ctx context.Context, name string) ([]byte, error) {
	start := time.Now()
	value, err := s.next.Get(ctx, name)
	s.observe("Get", start, err)
	return value, err
}

func (s *instrumentedStore) Delete(ctx context.Context, name string) error {
	start := time.Now()
	err := s.next.Delete(ctx, name)
	s.observe("Delete", start, err)
	return err
}

func (s *instrumentedStore) List(ctx context.Context, prefix, startAt string, n int) ([]string, string, error) {
	start := time.Now()
	names, next, err := s.next.List(ctx, prefix, startAt, n)
	s.observe("List", start, err)
	return names, next, err
}

func (s *instrumentedStore) Status(ctx context.Context) (kmsclient.StoreState, error) {
	start := time.Now()
	state, err := s.next.Status(ctx)
	s.observe("Status", start, err)
	return state, err
}

// Close is not a call to the store's service and is not counted.
func (s *instrumentedStore) Close() error { return s.next.Close() }

func (s *instrumentedStore) String() string {
	if str, ok := s.next.(fmt.Stringer); ok {
		return str.String()
	}
	return "embedded"
}

func (s *instrumentedUpdater) Update(ctx context.Context, name string, old, value []byte) error {
	start := time.Now()
	err := s.updater.Update(ctx, name, old, value)
	s.observe("Update", start, err)
	return err
}

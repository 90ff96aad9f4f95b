package gateway

import (
	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// Reads fail closed. In an encrypted bucket every object s3seal wrote
// carries its metadata (crypto.DecodeMetadata), so an object without any is
// one s3seal did not write: put on the backend directly, or an s3seal object
// whose metadata was stripped and whose content was replaced. Serving it
// would present bytes nobody authenticated as the object, so reads refuse
// it unless the operator listed the bucket for legacy plaintext reads (a
// migration) or stores the bucket in plaintext anyway.

// errUnsealedObject answers such a read. The code is ObjectTampered, 500,
// the answer to every other integrity failure: from the gateway's side
// missing metadata is indistinguishable from metadata removed by someone
// with backend access, operators already alert on the code, and no 4xx
// code would be honest (the request is fine; the stored object is not). A
// dedicated message tells the cases apart in client output.
var errUnsealedObject = s3err.New(s3err.ObjectTampered, "The object has no s3seal encryption metadata: it was not written through s3seal, or its metadata was removed.")

// checkUnsealed decides a read of bucket/object, which has no s3seal
// metadata, for req: nil to serve it as stored, errUnsealedObject to
// refuse it. Either outcome in an encrypted bucket is logged and observed.
func (s *Server) checkUnsealed(req *s3Request, bucket, object string) error {
	if s.plaintext[bucket] {
		return nil
	}
	refused := !s.legacy[bucket]
	if s.cfg.ObserveUnsealedRead != nil {
		s.cfg.ObserveUnsealedRead(req.operation, refused)
	}
	if !refused {
		s.log.Debug("served an object without s3seal metadata (legacy plaintext read bucket)",
			zap.String("request_id", req.id), zap.String("operation", req.operation),
			zap.String("bucket", bucket), zap.String("object", object))
		return nil
	}
	s.log.Warn("refused an object without s3seal metadata",
		zap.String("request_id", req.id), zap.String("operation", req.operation),
		zap.String("bucket", bucket), zap.String("object", object))
	return errUnsealedObject
}

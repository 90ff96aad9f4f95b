package gateway

import (
	"strings"
	"unicode/utf8"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// maxObjectNameLength is S3's limit on a key, in bytes.
const maxObjectNameLength = 1024

// checkNames refuses bucket and object names that a backend, or anything
// between s3seal and it, could read as a different place than s3seal does:
// a "." or ".." segment may be resolved away (moving the request into
// another bucket with another encryption policy), a NUL or invalid UTF-8 may
// be cut or replaced. Valid S3 names never need them.
func checkNames(bucket, object string, strictBucket bool) error {
	if bucket != "" {
		check := s3utils.CheckValidBucketName
		if strictBucket {
			check = s3utils.CheckValidBucketNameStrict
		}
		if err := check(bucket); err != nil {
			return s3err.New(s3err.InvalidBucketName, "The specified bucket is not valid.")
		}
	}
	if object == "" {
		return nil
	}
	return checkObjectName(object)
}

// checkObjectName refuses object names that are not safe to forward.
func checkObjectName(object string) error {
	if len(object) > maxObjectNameLength {
		return s3err.New(s3err.KeyTooLong, "")
	}
	if !utf8.ValidString(object) || strings.ContainsRune(object, 0) {
		return s3err.New(s3err.InvalidObjectName, "")
	}
	// Backends on some file systems also split on a backslash.
	for seg := range strings.SplitSeq(strings.ReplaceAll(object, `\`, "/"), "/") {
		if seg == "." || seg == ".." {
			return s3err.New(s3err.InvalidObjectName, "Object name contains a path segment \".\" or \"..\".")
		}
	}
	return nil
}

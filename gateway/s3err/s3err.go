// Package s3err is s3seal's one S3 error scheme: a table of AWS error codes
// with their HTTP status and default message, an error type that carries one,
// and the adapter that writes it as S3 XML.
//
// Handlers return errors; only WriteXML turns them into responses. An error
// that is not (and does not wrap) an *Error becomes InternalError, so details
// of unexpected failures never reach clients.
package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Code is an AWS S3 error code with the HTTP status it is sent with.
type Code struct {
	Name    string
	Status  int
	Message string
}

// The codes s3seal answers with. Messages follow AWS's wording.
var (
	BadRequest                                = Code{"BadRequest", http.StatusBadRequest, "An error occurred when parsing the HTTP request."}
	AccessDenied                              = Code{"AccessDenied", http.StatusForbidden, "Access Denied."}
	AuthorizationHeaderMalformed              = Code{"AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed."}
	AuthorizationQueryParametersError         = Code{"AuthorizationQueryParametersError", http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter."}
	BadDigest                                 = Code{"BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."}
	BucketAlreadyOwnedByYou                   = Code{"BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."}
	EntityTooLarge                            = Code{"EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."}
	ExpiredToken                              = Code{"ExpiredToken", http.StatusBadRequest, "The provided token has expired."}
	IncompleteBody                            = Code{"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	InternalError                             = Code{"InternalError", http.StatusInternalServerError, "We encountered an internal error, please try again."}
	InvalidAccessKeyID                        = Code{"InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."}
	InvalidTokenID                            = Code{"InvalidTokenId", http.StatusForbidden, "The security token included in the request is invalid"}
	InvalidArgument                           = Code{"InvalidArgument", http.StatusBadRequest, "Invalid argument."}
	InvalidBucketName                         = Code{"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."}
	InvalidDigest                             = Code{"InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified is not valid."}
	InvalidEncryptionAlgorithm                = Code{"InvalidEncryptionAlgorithmError", http.StatusBadRequest, "The encryption request you specified is not valid. The valid value is AES256."}
	InvalidObjectName                         = Code{"XMinioInvalidObjectName", http.StatusBadRequest, "Object name contains unsupported characters."}
	KeyTooLong                                = Code{"KeyTooLongError", http.StatusBadRequest, "Your key is too long"}
	InvalidPart                               = Code{"InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."}
	InvalidPartOrder                          = Code{"InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. The parts list must be specified in order by part number."}
	InvalidPartNumber                         = Code{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"}
	MalformedPOSTRequest                      = Code{"MalformedPOSTRequest", http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data."}
	MaxPostPreDataLengthExceeded              = Code{"MaxPostPreDataLengthExceededError", http.StatusBadRequest, "Your POST request fields preceding the upload file were too large."}
	InvalidPolicyDocument                     = Code{"InvalidPolicyDocument", http.StatusBadRequest, "The content of the form does not meet the conditions specified in the policy document."}
	EntityTooSmall                            = Code{"EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed size"}
	InvalidRange                              = Code{"InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"}
	InvalidRequest                            = Code{"InvalidRequest", http.StatusBadRequest, "Invalid Request"}
	KMSKeyNotFound                            = Code{"kms:KeyNotFound", http.StatusNotFound, "key with given key ID does not exist"}
	KMSNotConfigured                          = Code{"NotImplemented", http.StatusNotImplemented, "Server side encryption specified but KMS is not configured"}
	KMSUnavailable                            = Code{"KMS.KMSInternalException", http.StatusServiceUnavailable, "The KMS is temporarily unavailable; nothing was written."}
	MissingParameter                          = Code{"MissingParameter", http.StatusBadRequest, "A required parameter for the specified action is not supplied."}
	InvalidParameterValue                     = Code{"InvalidParameterValue", http.StatusBadRequest, "An invalid or out-of-range value was supplied for the input parameter."}
	MalformedPolicy                           = Code{"MalformedPolicy", http.StatusBadRequest, "Policy has invalid resource."}
	MalformedXML                              = Code{"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."}
	MaxMessageLengthExceeded                  = Code{"MaxMessageLengthExceeded", http.StatusBadRequest, "Your request was too big."}
	MethodNotAllowed                          = Code{"MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."}
	MissingContentLength                      = Code{"MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header."}
	MissingSecurityHeader                     = Code{"MissingSecurityHeader", http.StatusBadRequest, "Your request was missing a required header"}
	NoSuchBucket                              = Code{"NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist"}
	NoSuchBucketPolicy                        = Code{"NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist"}
	NoSuchKey                                 = Code{"NoSuchKey", http.StatusNotFound, "The specified key does not exist."}
	NoSuchUpload                              = Code{"NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}
	NotImplemented                            = Code{"NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented"}
	PolicyTooLarge                            = Code{"PolicyTooLarge", http.StatusBadRequest, "Policy exceeds the maximum allowed document size."}
	PreconditionFailed                        = Code{"PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"}
	RequestTimeout                            = Code{"RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."}
	RequestTimeTooSkewed                      = Code{"RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large."}
	ServiceUnavailable                        = Code{"ServiceUnavailable", http.StatusServiceUnavailable, "Please reduce your request rate."}
	SignatureDoesNotMatch                     = Code{"SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	XAmzContentSHA256Mismatch                 = Code{"XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."}
	XAmzContentChecksumMismatch               = Code{"XAmzContentChecksumMismatch", http.StatusBadRequest, "The provided 'x-amz-checksum' header does not match what was computed."}
	InvalidChecksum                           = Code{"InvalidRequest", http.StatusBadRequest, "Value for x-amz-checksum header is invalid."}
	ServerSideEncryptionConfigurationNotFound = Code{"ServerSideEncryptionConfigurationNotFoundError", http.StatusNotFound, "The server side encryption configuration was not found"}
	ObjectTampered                            = Code{"ObjectTampered", http.StatusInternalServerError, "The object's ciphertext or encryption metadata failed authentication."}
	SSECustomerKeyMissing                     = Code{"InvalidRequest", http.StatusBadRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."}
	SSECustomerKeyMismatch                    = Code{"AccessDenied", http.StatusForbidden, "The provided encryption key does not match the object's encryption key."}
	InsecureSSECustomerRequest                = Code{"InvalidRequest", http.StatusBadRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."}
)

// Error is an S3 error response: a code, an optional message overriding the
// code's default, and the resource it concerns. Wrapped errors (Err) are for
// logs only and never reach the client.
type Error struct {
	Code     Code
	Message  string // empty: Code.Message
	Resource string
	Bucket   string // BucketName in the response, if known
	Key      string // Key in the response, if known
	Err      error  // cause, for logs; never sent
}

// New returns an *Error for code with an optional message format.
func New(code Code, format string, args ...any) *Error {
	e := &Error{Code: code}
	if format != "" {
		e.Message = fmt.Sprintf(format, args...)
	}
	return e
}

// Wrap returns an *Error for code whose cause, kept for logs, is err.
func Wrap(code Code, err error) *Error { return &Error{Code: code, Err: err} }

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code.Name, msg, e.Err)
	}
	return e.Code.Name + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code name and status,
// so errors.Is(err, s3err.New(s3err.NoSuchKey, "")) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code.Name == e.Code.Name && t.Code.Status == e.Code.Status
}

// From returns the *Error err is or wraps; anything else becomes InternalError
// with err kept as its cause.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(InternalError, err)
}

// HasCode reports whether err is an *Error of the given code.
func HasCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code.Name == code.Name && e.Code.Status == code.Status
}

// Response is the S3 error document.
type Response struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Key        string   `xml:"Key,omitempty"`
	BucketName string   `xml:"BucketName,omitempty"`
	Resource   string   `xml:"Resource,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

// WriteXML writes err as an S3 XML error response. HEAD responses carry no
// body, as S3's do. Headers describing an object (ETag, Last-Modified,
// server-side encryption) are removed: an error describes none.
func WriteXML(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	e := From(err)
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	resource := e.Resource
	if resource == "" && r != nil {
		resource = r.URL.Path
	}
	h := w.Header()
	// Headers a handler set for the object before it failed describe
	// nothing the client gets.
	for k := range h {
		if strings.HasPrefix(k, "X-Amz-Server-Side-Encryption") {
			h.Del(k)
		}
	}
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	if r != nil && r.Method == http.MethodHead {
		// No body, and so, as MinIO answers, no Content-Type; but for a
		// failed precondition MinIO names XML, and s3seal answers alike.
		if e.Code == PreconditionFailed {
			h.Set("Content-Type", "application/xml")
		} else {
			h.Del("Content-Type")
		}
		w.WriteHeader(e.Code.Status)
		return
	}
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(e.Code.Status)
	body, _ := xml.Marshal(Response{Code: e.Code.Name, Message: msg, Key: e.Key, BucketName: e.Bucket, Resource: resource, RequestID: requestID, HostID: requestID})
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// Package crypto owns s3seal's key hierarchy and on-backend format.
package crypto

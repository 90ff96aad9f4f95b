package console

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"go.uber.org/zap"
)

// objectRow is one entry of the objects page: a common prefix (a
// "folder") or an object with what HEAD says of its encryption.
type objectRow struct {
	Key        string
	Name       string // Key without the listed prefix
	Prefix     bool
	Size       int64
	ETag       string
	Modified   string
	Encryption string // SSE-KMS, SSE-S3, SSE-C or none
	KeyID      string
	KeyVersion string
	Error      string
}

// encryptionOf reads the encryption headers of a HEAD or GET answer.
func encryptionOf(h http.Header) (mode, keyID, version string) {
	switch h.Get("X-Amz-Server-Side-Encryption") {
	case "aws:kms":
		mode = "SSE-KMS"
	case "AES256":
		mode = "SSE-S3"
	default:
		mode = "none"
	}
	if h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "" {
		mode = "SSE-C"
	}
	keyID = strings.TrimPrefix(h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), "arn:aws:kms:")
	return mode, keyID, h.Get("X-S3seal-Key-Version")
}

type objectsData struct {
	Bucket     string
	Prefix     string
	Parents    []crumb // breadcrumbs to the prefix
	Rows       []objectRow
	Next       string // start-after for the next page; empty: none
	Encryption string // the bucket's default encryption
	KeyID      string
}

type crumb struct{ Name, Prefix string }

func crumbs(prefix string) []crumb {
	var out []crumb
	acc := ""
	for _, part := range strings.SplitAfter(prefix, "/") {
		if part == "" {
			continue
		}
		acc += part
		out = append(out, crumb{Name: part, Prefix: acc})
	}
	return out
}

func (c *Console) objectsPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	c.renderObjects(w, r, sess, a, http.StatusOK, "", "")
}

func (c *Console) renderObjects(w http.ResponseWriter, r *http.Request, sess *session, a *api, status int, notice, errMsg string) {
	bucket := r.PathValue("bucket")
	prefix := r.FormValue("prefix")
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "buckets", bucket)
	p.Notice, p.Error = notice, errMsg
	data := objectsData{Bucket: bucket, Prefix: prefix, Parents: crumbs(prefix)}
	data.Encryption, data.KeyID, _ = bucketEncryption(ctx, a, bucket)
	rows, next, err := listPage(ctx, a, bucket, prefix, r.FormValue("after"))
	if err != nil {
		p.Error = joinErrors(p.Error, "ListObjectsV2 "+bucket+": "+describe(err))
		if status == http.StatusOK {
			status = statusOf(err)
		}
	}
	data.Rows, data.Next = rows, next
	p.Data = data
	c.render(w, status, "objects", p)
}

// listPage lists up to pageSize entries under prefix after startAfter and
// HEADs each object for its encryption.
func listPage(ctx context.Context, a *api, bucket, prefix, startAfter string) ([]objectRow, string, error) {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	var rows []objectRow
	next := ""
	for o := range a.s3.ListObjects(lctx, bucket, minio.ListObjectsOptions{Prefix: prefix, StartAfter: startAfter, MaxKeys: pageSize}) {
		if o.Err != nil {
			return rows, "", o.Err
		}
		if len(rows) == pageSize {
			next = rows[len(rows)-1].Key
			break
		}
		row := objectRow{Key: o.Key, Name: strings.TrimPrefix(o.Key, prefix)}
		if strings.HasSuffix(o.Key, "/") && o.Size == 0 && o.ETag == "" {
			row.Prefix = true
		} else {
			row.Size, row.ETag = o.Size, strings.Trim(o.ETag, `"`)
			row.Modified = o.LastModified.UTC().Format("2006-01-02 15:04:05")
		}
		rows = append(rows, row)
	}
	for i := range rows {
		if rows[i].Prefix {
			continue
		}
		h, err := a.headObject(ctx, bucket, rows[i].Key)
		if err != nil {
			rows[i].Error = describe(err)
			continue
		}
		rows[i].Encryption, rows[i].KeyID, rows[i].KeyVersion = encryptionOf(h)
	}
	return rows, next, nil
}

type objectData struct {
	Bucket     string
	Key        string
	Dir        string // the prefix the object is listed under
	Size       int64
	ETag       string
	Modified   string
	Type       string
	Encryption string
	KeyID      string
	KeyVersion string
	Metadata   []header
}

type header struct{ Name, Value string }

// shownHeaders are the HEAD answer's headers the object page lists besides
// user metadata. Everything else (in particular anything s3seal keeps
// for itself) is left out: the page never shows sealed key material.
var shownHeaders = []string{
	"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires",
	"X-Amz-Version-Id", "X-Amz-Storage-Class", "X-Amz-Tagging-Count",
}

func (c *Console) objectPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	bucket, key := r.PathValue("bucket"), r.FormValue("key")
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "buckets", key)
	h, err := a.headObject(ctx, bucket, key)
	if err != nil {
		p.Error = "HeadObject " + bucket + "/" + key + ": " + describe(err)
		p.Data = objectData{Bucket: bucket, Key: key, Dir: dirOf(key)}
		c.render(w, statusOf(err), "object", p)
		return
	}
	size, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	d := objectData{
		Bucket: bucket, Key: key, Dir: dirOf(key), Size: size, ETag: strings.Trim(h.Get("ETag"), `"`),
		Modified: h.Get("Last-Modified"), Type: h.Get("Content-Type"),
	}
	d.Encryption, d.KeyID, d.KeyVersion = encryptionOf(h)
	for _, name := range shownHeaders {
		if v := h.Get(name); v != "" && name != "Content-Type" {
			d.Metadata = append(d.Metadata, header{name, v})
		}
	}
	var user []header
	for name, vs := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-meta-") {
			user = append(user, header{name, strings.Join(vs, ", ")})
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	d.Metadata = append(d.Metadata, user...)
	p.Data = d
	c.render(w, http.StatusOK, "object", p)
}

func dirOf(key string) string {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// download streams an object from the gateway to the browser.
func (c *Console) download(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	bucket, key := r.PathValue("bucket"), r.FormValue("key")
	obj, err := a.s3.GetObject(r.Context(), bucket, key, minio.GetObjectOptions{})
	if err == nil {
		defer obj.Close()
		var info minio.ObjectInfo
		if info, err = obj.Stat(); err == nil {
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
			disposition := mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(key)})
			if disposition == "" { // a name FormatMediaType cannot encode
				disposition = "attachment"
			}
			h.Set("Content-Disposition", disposition)
			if info.ETag != "" {
				h.Set("ETag", `"`+strings.Trim(info.ETag, `"`)+`"`)
			}
			if _, err := io.Copy(w, obj); err != nil {
				// Headers are gone: all that is left is to cut the body short.
				c.log.Warn("console download ended early", zap.String("bucket", bucket), zap.Error(err))
			}
			return
		}
	}
	c.fail(w, r, sess, statusOf(err), "GetObject "+bucket+"/"+key+": "+describe(err))
}

// upload streams the request body (one file, its length known) to the
// gateway as a PutObject. The page's script sends it with the CSRF token in
// a header and shows the progress.
func (c *Console) upload(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	bucket, key := r.PathValue("bucket"), r.URL.Query().Get("key")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if key == "" {
		http.Error(w, "InvalidArgument: the object needs a name", http.StatusBadRequest)
		return
	}
	if r.ContentLength < 0 {
		http.Error(w, "MissingContentLength: the upload must say its length", http.StatusLengthRequired)
		return
	}
	ctype := r.Header.Get("Content-Type")
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	info, err := a.s3.PutObject(r.Context(), bucket, key, r.Body, r.ContentLength, minio.PutObjectOptions{
		ContentType: ctype, DisableMultipart: true,
	})
	if err != nil {
		http.Error(w, "PutObject "+bucket+"/"+key+": "+describe(err), statusOf(err))
		return
	}
	_, _ = io.WriteString(w, "Uploaded "+key+" ("+humanBytes(info.Size)+").")
}

func (c *Console) deleteObject(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	bucket, key := r.PathValue("bucket"), r.PostFormValue("key")
	ctx, cancel := actionContext(r)
	defer cancel()
	// Back to the listing the object was in.
	r.Form = url.Values{"prefix": {dirOf(key)}}
	if err := a.s3.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
		c.renderObjects(w, r, sess, a, statusOf(err), "", "DeleteObject "+bucket+"/"+key+": "+describe(err))
		return
	}
	c.renderObjects(w, r, sess, a, http.StatusOK, "Deleted "+key+".", "")
}

package console

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// keyRow is one KMS key with the buckets whose default encryption names
// it.
type keyRow struct {
	kmsKey
	Created string
	Default bool // the key SSE-S3 and buckets without a configuration use
	Buckets []string
}

type keysData struct {
	Keys       []keyRow
	DefaultKey string
	// SSES3Buckets use the default key through SSE-S3 or no configuration.
	SSES3Buckets []string
	UsageError   string // why bucket usage could not be read
}

// keyUsage maps each key to the buckets configured with SSE-KMS under it;
// buckets on SSE-S3 or with no configuration come back separately (they
// use the default key).
func keyUsage(ctx context.Context, c *Console, a *api) (map[string][]string, []string, error) {
	rows, err := c.listBuckets(ctx, a, false)
	if err != nil {
		return nil, nil, err
	}
	usage := map[string][]string{}
	var dflt []string
	for _, b := range rows {
		switch b.Encryption {
		case "SSE-KMS":
			usage[b.KeyID] = append(usage[b.KeyID], b.Name)
		case "SSE-S3", "none":
			dflt = append(dflt, b.Name)
		}
	}
	return usage, dflt, nil
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	c.renderKeys(w, r, sess, a, http.StatusOK, "", "")
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, sess *session, a *api, status int, notice, errMsg string) {
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "keys", "Keys")
	p.Notice, p.Error = notice, errMsg
	data := keysData{}
	if st, err := a.kmsStatus(ctx); err == nil {
		data.DefaultKey = st.DefaultKeyID
	}
	keys, err := a.listKeys(ctx)
	if err != nil {
		p.Error = joinErrors(p.Error, "KMSListKeys: "+describe(err))
		if status == http.StatusOK {
			status = statusOf(err)
		}
	}
	usage, dflt, err := keyUsage(ctx, c, a)
	if err != nil {
		data.UsageError = "ListBuckets: " + describe(err)
	}
	data.SSES3Buckets = dflt
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	for _, k := range keys {
		row := keyRow{kmsKey: k, Default: k.Name == data.DefaultKey, Buckets: usage[k.Name]}
		if !k.CreatedAt.IsZero() {
			row.Created = k.CreatedAt.UTC().Format("2006-01-02 15:04")
		}
		data.Keys = append(data.Keys, row)
	}
	p.Data = data
	c.render(w, status, "keys", p)
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	name := strings.TrimSpace(r.PostFormValue("key"))
	ctx, cancel := actionContext(r)
	defer cancel()
	if err := a.createKey(ctx, name); err != nil {
		c.renderKeys(w, r, sess, a, statusOf(err), "", "KMSCreateKey "+name+": "+describe(err))
		return
	}
	c.renderKeys(w, r, sess, a, http.StatusOK, "Created key "+name+".", "")
}

type keyData struct {
	Name    string
	Status  kmsKeyStatus
	Checked bool // the encrypt/decrypt check ran
	Buckets []string
	Default bool
}

func (c *Console) keyPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	c.renderKey(w, r, sess, a, http.StatusOK, "", "")
}

func (c *Console) renderKey(w http.ResponseWriter, r *http.Request, sess *session, a *api, status int, notice, errMsg string) {
	name := r.PathValue("key")
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "keys", "Key "+name)
	p.Notice, p.Error = notice, errMsg
	data := keyData{Name: name}
	st, err := a.keyStatus(ctx, name)
	if err != nil {
		p.Error = joinErrors(p.Error, "KMSKeyStatus "+name+": "+describe(err))
		if status == http.StatusOK {
			status = statusOf(err)
		}
	} else {
		data.Status, data.Checked = st, true
	}
	if ks, err := a.kmsStatus(ctx); err == nil {
		data.Default = ks.DefaultKeyID == name
	}
	if usage, dflt, err := keyUsage(ctx, c, a); err == nil {
		data.Buckets = usage[name]
		if data.Default {
			data.Buckets = append(data.Buckets, dflt...)
		}
	}
	p.Data = data
	c.render(w, status, "key", p)
}

func (c *Console) rotateKey(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	name := r.PathValue("key")
	ctx, cancel := actionContext(r)
	defer cancel()
	v, err := a.rotateKey(ctx, name)
	if err != nil {
		c.renderKey(w, r, sess, a, statusOf(err), "", "KMSRotateKey "+name+": "+describe(err))
		return
	}
	c.renderKey(w, r, sess, a, http.StatusOK, "Rotated key "+name+": new data keys are sealed under version "+strconv.Itoa(v)+".", "")
}

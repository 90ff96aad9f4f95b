package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	kubernetesDir = "deploy/kubernetes"
	gatewayPort   = 9010
	containerName = "s3seal"
	secretName    = "s3seal-credentials"
	secretExample = "deploy/kubernetes/examples/secret.example.yaml"
	runtimeUID    = 65532
)

// otherEnv are variables outside S3SEAL_* that deployments set: the config
// file's ${VAR} references and the Go runtime's limits.
var otherEnv = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "KES_API_KEY", "GOMEMLIMIT", "GOMAXPROCS"}

// contractEnv returns the environment variables the s3seal binary reads,
// taken from the S3SEAL_* string literals in cmd/s3seal, plus otherEnv. A
// name outside it in a manifest is a typo the gateway would silently ignore.
func contractEnv(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "cmd", "s3seal", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`"(S3SEAL_[A-Z0-9_]+)"`)
	names := slices.Clone(otherEnv)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			names = append(names, m[1])
		}
	}
	for _, want := range []string{"S3SEAL_ADDRESS", "S3SEAL_CONFIG", "S3SEAL_BACKEND_URL", "S3SEAL_KMS_DIR"} {
		if !slices.Contains(names, want) {
			t.Fatalf("cmd/s3seal does not mention %s: the environment contract moved; update contractEnv", want)
		}
	}
	return names
}

// strictDecoder decodes Kubernetes YAML or JSON into the typed API objects and
// reports unknown fields, duplicate fields and case-mismatched field names as
// errors (runtime.IsStrictDecodingError), unlike kubectl's client-side
// default, which drops them.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatalf("build scheme: %v", err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// yamlDocuments splits a multi-document YAML stream, dropping documents that
// hold only comments or whitespace.
func yamlDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if hasContent(doc) {
			docs = append(docs, doc)
		}
	}
}

func hasContent(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return true
		}
	}
	return false
}

// manifestSet is every object decoded from deploy/kubernetes, by kind.
type manifestSet struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	serviceAccounts []*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	files           []string // base names of the manifest files, sorted
}

// decodeManifests strictly decodes every document of data into set,
// dispatching on kind. Kinds the gateway does not ship are errors.
func decodeManifests(dec runtime.Decoder, name string, data []byte, set *manifestSet) error {
	docs, err := yamlDocuments(data)
	if err != nil {
		return fmt.Errorf("%s: split documents: %w", name, err)
	}
	if len(docs) == 0 {
		return fmt.Errorf("%s: no documents", name)
	}
	for i, doc := range docs {
		obj, gvk, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if ns := obj.(metav1.Object).GetNamespace(); ns != "" {
			return fmt.Errorf("%s: %s has namespace %q: manifests must be namespace-agnostic", name, gvk.Kind, ns)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			set.deployments = append(set.deployments, o)
		case *corev1.Service:
			set.services = append(set.services, o)
		case *corev1.ConfigMap:
			set.configMaps = append(set.configMaps, o)
		case *corev1.Secret:
			set.secrets = append(set.secrets, o)
		case *corev1.ServiceAccount:
			set.serviceAccounts = append(set.serviceAccounts, o)
		case *policyv1.PodDisruptionBudget:
			set.pdbs = append(set.pdbs, o)
		default:
			return fmt.Errorf("%s: document %d: unexpected kind %s", name, i, gvk)
		}
	}
	return nil
}

// loadManifests decodes deploy/kubernetes/*.yaml except the kustomization.
func loadManifests(t *testing.T) *manifestSet {
	t.Helper()
	dir := filepath.Join(repoRoot(t), filepath.FromSlash(kubernetesDir))
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatalf("list manifests: %v", err)
	}
	dec := strictDecoder(t)
	set := &manifestSet{}
	for _, p := range paths {
		base := filepath.Base(p)
		if base == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		if err := decodeManifests(dec, base, data, set); err != nil {
			t.Fatal(err)
		}
		set.files = append(set.files, base)
	}
	sort.Strings(set.files)
	if len(set.deployments) != 1 {
		t.Fatalf("got %d Deployments in %s, want 1", len(set.deployments), kubernetesDir)
	}
	return set
}

func (s *manifestSet) deployment() *appsv1.Deployment { return s.deployments[0] }

func (s *manifestSet) configMap(name string) *corev1.ConfigMap {
	for _, cm := range s.configMaps {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

// gatewayContainer returns the s3seal container of the Deployment.
func gatewayContainer(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == containerName {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %q", d.Name, containerName)
	return nil
}

// resolvePort returns the container port a probe or Service targets, by
// number or by name.
func resolvePort(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && p.StrVal == cp.Name) || (p.Type == intstr.Int && p.IntVal == cp.ContainerPort) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func TestStrictDecoderRejectsWhatTheAPIServerWouldNot(t *testing.T) {
	const base = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: s3seal
spec:
  selector:
    matchLabels: {app: s3seal}
  template:
    metadata:
      labels: {app: s3seal}
    spec:
      containers:
        - name: s3seal
          image: s3seal/s3seal:0.1.0
`
	dec := strictDecoder(t)
	t.Run("a valid manifest decodes", func(t *testing.T) {
		obj, _, err := dec.Decode([]byte(base+"  replicas: 3\n"), nil, nil)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			t.Fatalf("Decode returned %T, want *appsv1.Deployment", obj)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
			t.Errorf("replicas = %v, want 3", d.Spec.Replicas)
		}
	})
	rejected := []struct {
		name, extra string
	}{
		{"unknown field", "  replicaz: 3\n"},
		{"field with the wrong case", "  Replicas: 3\n"},
		{"duplicate field", "  replicas: 3\n  replicas: 4\n"},
		{"unknown nested field", "  strategy:\n    type: RollingUpdate\n    maxSurge: 1\n"},
	}
	for _, tt := range rejected {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			_, _, err := dec.Decode([]byte(base+tt.extra), nil, nil)
			if err == nil {
				t.Fatal("Decode accepted the manifest, want a strict decoding error")
			}
			if !runtime.IsStrictDecodingError(err) {
				t.Errorf("Decode error = %v, want a strict decoding error", err)
			}
		})
	}
	t.Run("rejects an unregistered kind", func(t *testing.T) {
		set := &manifestSet{}
		err := decodeManifests(dec, "ingress.yaml", []byte("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\n"), set)
		if err == nil {
			t.Fatal("decodeManifests accepted an Ingress, want an error")
		}
	})
	t.Run("rejects a namespaced manifest", func(t *testing.T) {
		set := &manifestSet{}
		err := decodeManifests(dec, "sa.yaml", []byte("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, namespace: prod}\n"), set)
		if err == nil {
			t.Fatal("decodeManifests accepted a namespace, want an error")
		}
	})
}

func TestDeploymentRunsSeveralHardenedReplicas(t *testing.T) {
	set := loadManifests(t)
	d := set.deployment()
	spec := d.Spec.Template.Spec
	c := gatewayContainer(t, d)

	t.Run("replicas and rollout", func(t *testing.T) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("replicas = %v, want at least 2", d.Spec.Replicas)
		}
		if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
			t.Errorf("strategy = %q, want RollingUpdate", d.Spec.Strategy.Type)
		}
		ru := d.Spec.Strategy.RollingUpdate
		if ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" {
			t.Errorf("rollingUpdate.maxUnavailable = %v, want 0 so a rollout never lowers capacity", ru)
		}
	})

	t.Run("graceful termination", func(t *testing.T) {
		// s3seal lets in-flight requests finish for up to 60 s after
		// SIGTERM; the preStop pause comes before SIGTERM.
		const shutdownSeconds = 60
		var pause int64
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			pause = c.Lifecycle.PreStop.Sleep.Seconds
		}
		if g := spec.TerminationGracePeriodSeconds; g == nil || *g < pause+shutdownSeconds {
			t.Errorf("terminationGracePeriodSeconds = %v, want at least %d (preStop %d s + shutdown %d s)", g, pause+shutdownSeconds, pause, shutdownSeconds)
		}
	})

	t.Run("selector matches the pod template", func(t *testing.T) {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			t.Fatalf("selector: %v", err)
		}
		if sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("selector %s does not match template labels %v", sel, d.Spec.Template.Labels)
		}
	})

	t.Run("image is pinned", func(t *testing.T) {
		for _, ic := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			checkImagePinned(t, "container "+ic.Name, ic.Image)
		}
	})

	t.Run("probes hit the health endpoints on the gateway port", func(t *testing.T) {
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != gatewayPort {
			t.Fatalf("container ports = %+v, want exactly %d", c.Ports, gatewayPort)
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{
			{"readinessProbe", c.ReadinessProbe, "/minio/health/ready"},
			{"livenessProbe", c.LivenessProbe, "/minio/health/live"},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s: want an httpGet probe", p.name)
				continue
			}
			if p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
			}
			if port, ok := resolvePort(c, p.probe.HTTPGet.Port); !ok || port != gatewayPort {
				t.Errorf("%s port %s resolves to %d (found %t), want %d", p.name, p.probe.HTTPGet.Port.String(), port, ok, gatewayPort)
			}
		}
	})

	t.Run("security context", func(t *testing.T) {
		psc, sc := spec.SecurityContext, c.SecurityContext
		if sc == nil {
			t.Fatal("container has no securityContext")
		}
		runAsNonRoot := sc.RunAsNonRoot
		if runAsNonRoot == nil && psc != nil {
			runAsNonRoot = psc.RunAsNonRoot
		}
		if runAsNonRoot == nil || !*runAsNonRoot {
			t.Error("runAsNonRoot is not true")
		}
		runAsUser := sc.RunAsUser
		if runAsUser == nil && psc != nil {
			runAsUser = psc.RunAsUser
		}
		if runAsUser == nil || *runAsUser != runtimeUID {
			t.Errorf("runAsUser = %v, want %d (the image's nonroot user)", runAsUser, runtimeUID)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Error("container is privileged")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("capabilities = %+v, want drop [ALL] and nothing added", sc.Capabilities)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil && psc != nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccompProfile = %+v, want RuntimeDefault", seccomp)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Error("automountServiceAccountToken is not false: s3seal never calls the Kubernetes API")
		}
	})

	t.Run("resources", func(t *testing.T) {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, ok := c.Resources.Requests[name]
			if !ok || req.IsZero() {
				t.Errorf("no %s request", name)
			}
			if lim, ok := c.Resources.Limits[name]; ok && lim.Cmp(req) < 0 {
				t.Errorf("%s limit %s is below the request %s", name, lim.String(), req.String())
			}
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			t.Error("no memory limit")
		}
	})

	t.Run("writable /tmp on an emptyDir", func(t *testing.T) {
		vols := map[string]corev1.Volume{}
		for _, v := range spec.Volumes {
			vols[v.Name] = v
		}
		found := false
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/tmp" {
				found = vols[m.Name].EmptyDir != nil
			}
		}
		if !found {
			t.Error("/tmp is not mounted from an emptyDir")
		}
	})

	t.Run("spread over nodes", func(t *testing.T) {
		podLabels := labels.Set(d.Spec.Template.Labels)
		spreads := 0
		for _, tsc := range spec.TopologySpreadConstraints {
			sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
			if err != nil || !sel.Matches(podLabels) {
				t.Errorf("topologySpreadConstraint on %s: selector %v does not match the pods", tsc.TopologyKey, tsc.LabelSelector)
			}
			spreads++
		}
		if a := spec.Affinity; a != nil && a.PodAntiAffinity != nil {
			for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				sel, err := metav1.LabelSelectorAsSelector(w.PodAffinityTerm.LabelSelector)
				if err != nil || !sel.Matches(podLabels) {
					t.Errorf("podAntiAffinity on %s: selector does not match the pods", w.PodAffinityTerm.TopologyKey)
				}
				spreads++
			}
		}
		if spreads == 0 {
			t.Error("neither topologySpreadConstraints nor podAntiAffinity spread the replicas")
		}
	})

	t.Run("only contract environment variables", func(t *testing.T) {
		known := contractEnv(t)
		for _, e := range c.Env {
			if !slices.Contains(known, e.Name) {
				t.Errorf("env %s is not part of the s3seal contract (typo?)", e.Name)
			}
		}
		for _, e := range c.Env {
			if e.Name == "S3SEAL_KMS_DIR" {
				t.Error("S3SEAL_KMS_DIR is set: replicas would each use their own fs key store instead of the shared one")
			}
		}
	})

	t.Run("prometheus annotations point at the gateway", func(t *testing.T) {
		ann := d.Spec.Template.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != fmt.Sprint(gatewayPort) {
			t.Errorf("prometheus annotations = %v, want scrape true, path /metrics, port %d", ann, gatewayPort)
		}
	})

	t.Run("service account exists", func(t *testing.T) {
		name := spec.ServiceAccountName
		found := false
		for _, sa := range set.serviceAccounts {
			found = found || sa.Name == name
		}
		if name == "" || !found {
			t.Errorf("serviceAccountName %q names no ServiceAccount in %s", name, kubernetesDir)
		}
	})
}

func TestDeploymentConfigComesFromTheConfigMap(t *testing.T) {
	set := loadManifests(t)
	d := set.deployment()
	c := gatewayContainer(t, d)
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}

	t.Run("configMapKeyRefs name existing keys", func(t *testing.T) {
		refs := 0
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
				continue
			}
			refs++
			ref := e.ValueFrom.ConfigMapKeyRef
			cm := set.configMap(ref.Name)
			if cm == nil {
				t.Errorf("env %s: ConfigMap %q is not in %s", e.Name, ref.Name, kubernetesDir)
				continue
			}
			if _, ok := cm.Data[ref.Key]; !ok {
				t.Errorf("env %s: ConfigMap %s has no key %q", e.Name, ref.Name, ref.Key)
			}
		}
		if refs == 0 {
			t.Error("no env comes from a ConfigMap")
		}
	})

	t.Run("config file is mounted where S3SEAL_CONFIG points", func(t *testing.T) {
		want := env["S3SEAL_CONFIG"].Value
		if want == "" {
			t.Fatal("S3SEAL_CONFIG is not set")
		}
		vols := map[string]corev1.Volume{}
		for _, v := range d.Spec.Template.Spec.Volumes {
			vols[v.Name] = v
		}
		var got []string
		for _, m := range c.VolumeMounts {
			src := vols[m.Name].ConfigMap
			if src == nil {
				continue
			}
			if !m.ReadOnly {
				t.Errorf("ConfigMap volume %s is mounted read-write", m.Name)
			}
			cm := set.configMap(src.Name)
			if cm == nil {
				t.Errorf("volume %s: ConfigMap %q is not in %s", m.Name, src.Name, kubernetesDir)
				continue
			}
			if len(src.Items) == 0 {
				for k := range cm.Data {
					got = append(got, path.Join(m.MountPath, k))
				}
			}
			for _, it := range src.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("volume %s: ConfigMap %s has no key %q", m.Name, src.Name, it.Key)
				}
				got = append(got, path.Join(m.MountPath, it.Path))
			}
		}
		if !slices.Contains(got, want) {
			t.Errorf("S3SEAL_CONFIG = %s, but the mounted ConfigMap files are %v", want, got)
		}
		if !strings.HasPrefix(want, "/etc/s3seal/") {
			t.Errorf("S3SEAL_CONFIG = %s, want a file under /etc/s3seal", want)
		}
	})

	t.Run("config file uses a key store replicas can share", func(t *testing.T) {
		cm := set.configMap("s3seal-config")
		if cm == nil {
			t.Fatal("no ConfigMap s3seal-config")
		}
		cfg := decodeGatewayConfig(t, "ConfigMap s3seal-config config.yaml", []byte(cm.Data["config.yaml"]))
		checkGatewayConfig(t, "ConfigMap s3seal-config config.yaml", cfg)
		switch ks := cfg.KMS.KeyStore; {
		case ks.FS != nil:
			t.Error("config.yaml uses the fs key store: replicas would not share keys")
		case ks.AWS == nil && ks.KES == nil:
			t.Error("config.yaml configures neither the AWS Secrets Manager nor the KES key store")
		}
		if ks := cfg.KMS.KeyStore; ks.AWS != nil && ks.AWS.SecretsManager != nil {
			for _, v := range []string{ks.AWS.SecretsManager.Credentials.AccessKey, ks.AWS.SecretsManager.Credentials.SecretKey} {
				if m := envValue.FindString(v); m != "" && slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
					return "${"+e.Name+"}" == m && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional
				}) {
					t.Errorf("config.yaml uses %s, which comes from an optional Secret key: unset, s3seal refuses to start", m)
				}
			}
		}
	})
}

func TestSecretReferencesAreConsistent(t *testing.T) {
	set := loadManifests(t)
	c := gatewayContainer(t, set.deployment())
	if len(set.secrets) != 0 {
		t.Errorf("%s holds %d Secrets: credentials must not be committed (the example lives in examples/)", kubernetesDir, len(set.secrets))
	}

	var example manifestSet
	if err := decodeManifests(strictDecoder(t), secretExample, readRepoFile(t, secretExample), &example); err != nil {
		t.Fatal(err)
	}
	if len(example.secrets) != 1 || example.secrets[0].Name != secretName {
		t.Fatalf("%s: want one Secret named %s", secretExample, secretName)
	}
	exampleKeys := example.secrets[0].StringData
	for k, v := range exampleKeys {
		if v != "CHANGE-ME" {
			t.Errorf("%s: key %s = %q, want the placeholder CHANGE-ME", secretExample, k, v)
		}
	}
	readme := string(readRepoFile(t, kubernetesDir+"/README.md"))

	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name != secretName {
			t.Errorf("env %s reads Secret %q, want every credential from %s", e.Name, ref.Name, secretName)
		}
		if _, ok := exampleKeys[ref.Key]; !ok {
			t.Errorf("env %s reads key %q, missing from %s", e.Name, ref.Key, secretExample)
		}
		if !strings.Contains(readme, "--from-literal="+ref.Key+"=") {
			t.Errorf("env %s reads key %q, but README.md's kubectl command does not create it", e.Name, ref.Key)
		}
	}
	for _, name := range []string{"S3SEAL_ROOT_USER", "S3SEAL_ROOT_PASSWORD", "S3SEAL_BACKEND_ACCESS_KEY", "S3SEAL_BACKEND_SECRET_KEY"} {
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
		switch {
		case i < 0:
			t.Errorf("env %s is not set", name)
		case c.Env[i].Value != "" || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.SecretKeyRef == nil:
			t.Errorf("env %s must come from a secretKeyRef, not a literal", name)
		case c.Env[i].ValueFrom.SecretKeyRef.Optional != nil && *c.Env[i].ValueFrom.SecretKeyRef.Optional:
			t.Errorf("env %s is optional, want required", name)
		}
	}
}

func TestServiceAndDisruptionBudgetSelectTheGateway(t *testing.T) {
	set := loadManifests(t)
	d := set.deployment()
	c := gatewayContainer(t, d)
	podLabels := labels.Set(d.Spec.Template.Labels)

	if len(set.services) != 1 {
		t.Fatalf("got %d Services, want 1", len(set.services))
	}
	svc := set.services[0]
	t.Run("service", func(t *testing.T) {
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
			t.Errorf("Service selector %v does not match pod labels %v", svc.Spec.Selector, podLabels)
		}
		if len(svc.Spec.Ports) == 0 {
			t.Fatal("Service has no ports")
		}
		for _, p := range svc.Spec.Ports {
			if port, ok := resolvePort(c, p.TargetPort); !ok || port != gatewayPort {
				t.Errorf("Service port %s targets %s, which is not the gateway port %d", p.Name, p.TargetPort.String(), gatewayPort)
			}
		}
	})

	if len(set.pdbs) != 1 {
		t.Fatalf("got %d PodDisruptionBudgets, want 1", len(set.pdbs))
	}
	pdb := set.pdbs[0]
	t.Run("disruption budget", func(t *testing.T) {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			t.Fatalf("PDB selector: %v", err)
		}
		if sel.Empty() || !sel.Matches(podLabels) {
			t.Errorf("PDB selector %s does not match pod labels %v", sel, podLabels)
		}
		replicas := int(*d.Spec.Replicas)
		switch {
		case pdb.Spec.MaxUnavailable != nil && pdb.Spec.MinAvailable != nil:
			t.Error("PDB sets both maxUnavailable and minAvailable")
		case pdb.Spec.MaxUnavailable != nil:
			n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, replicas, false)
			if err != nil || n < 1 || n >= replicas {
				t.Errorf("PDB maxUnavailable %s allows %d of %d replicas down, want between 1 and %d", pdb.Spec.MaxUnavailable.String(), n, replicas, replicas-1)
			}
		case pdb.Spec.MinAvailable != nil:
			n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, replicas, true)
			if err != nil || n < 1 || n >= replicas {
				t.Errorf("PDB minAvailable %s keeps %d of %d replicas, want between 1 and %d so drains can proceed", pdb.Spec.MinAvailable.String(), n, replicas, replicas-1)
			}
		default:
			t.Error("PDB sets neither maxUnavailable nor minAvailable")
		}
	})
}

// kustomization is the part of kustomize's Kustomization these manifests use;
// decoding strictly into it catches a misspelt field.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	set := loadManifests(t)
	var k kustomization
	if err := yaml.UnmarshalStrict(readRepoFile(t, kubernetesDir+"/kustomization.yaml"), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, set.files) {
		t.Errorf("kustomization resources = %v, want every manifest file %v", got, set.files)
	}

	t.Run("kustomize renders it", func(t *testing.T) {
		// krusty is the kustomize that `kubectl kustomize` and
		// `kubectl apply -k` embed; run in-process, no kubectl needed.
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		resources, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), filepath.FromSlash(kubernetesDir)))
		if err != nil {
			t.Fatalf("kustomize build %s: %v", kubernetesDir, err)
		}
		out, err := resources.AsYaml()
		if err != nil {
			t.Fatalf("kustomize build %s: render YAML: %v", kubernetesDir, err)
		}
		var rendered manifestSet
		if err := decodeManifests(strictDecoder(t), "kustomize output", out, &rendered); err != nil {
			t.Fatal(err)
		}
		count := func(s *manifestSet) int {
			return len(s.deployments) + len(s.services) + len(s.configMaps) + len(s.secrets) + len(s.serviceAccounts) + len(s.pdbs)
		}
		if got, want := count(&rendered), count(set); got != want {
			t.Errorf("kustomize rendered %d objects, want %d", got, want)
		}
	})
}

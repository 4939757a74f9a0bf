package deploy_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// The parts of the Kubernetes objects the checks read.
type (
	meta struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	header struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
	}
	selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	securityContext struct {
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		Privileged               *bool  `yaml:"privileged"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
		SeccompProfile *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	probe struct {
		HTTPGet *struct {
			Path   string `yaml:"path"`
			Port   string `yaml:"port"`
			Scheme string `yaml:"scheme"`
		} `yaml:"httpGet"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	}
	volume struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	}
	container struct {
		Name  string `yaml:"name"`
		Image string `yaml:"image"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Env []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom any    `yaml:"valueFrom"`
		} `yaml:"env"`
		VolumeMounts    []volumeMount                                `yaml:"volumeMounts"`
		ReadinessProbe  *probe                                       `yaml:"readinessProbe"`
		LivenessProbe   *probe                                       `yaml:"livenessProbe"`
		Resources       struct{ Requests, Limits map[string]string } `yaml:"resources"`
		SecurityContext *securityContext                             `yaml:"securityContext"`
	}
	deployment struct {
		header `yaml:",inline"`
		Spec   struct {
			Selector selector `yaml:"selector"`
			Template struct {
				Metadata meta `yaml:"metadata"`
				Spec     struct {
					HostNetwork                  bool             `yaml:"hostNetwork"`
					HostPID                      bool             `yaml:"hostPID"`
					AutomountServiceAccountToken *bool            `yaml:"automountServiceAccountToken"`
					SecurityContext              *securityContext `yaml:"securityContext"`
					Containers                   []container      `yaml:"containers"`
					Volumes                      []volume         `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	service struct {
		header `yaml:",inline"`
		Spec   struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				TargetPort string `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	pdb struct {
		header `yaml:",inline"`
		Spec   struct {
			Selector       selector `yaml:"selector"`
			MaxUnavailable *int     `yaml:"maxUnavailable"`
			MinAvailable   *int     `yaml:"minAvailable"`
		} `yaml:"spec"`
	}
	hpa struct {
		header `yaml:",inline"`
		Spec   struct {
			ScaleTargetRef struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Name       string `yaml:"name"`
			} `yaml:"scaleTargetRef"`
			MinReplicas int `yaml:"minReplicas"`
			MaxReplicas int `yaml:"maxReplicas"`
		} `yaml:"spec"`
	}
)

// manifests are the objects of every deploy/*.yaml by kind, raw, and the
// files they came from.
type manifests struct {
	byKind map[string][]*yaml.Node
	files  []string
}

func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	m := manifests{byKind: map[string][]*yaml.Node{}, files: files}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var h header
			if err := doc.Decode(&h); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if h.APIVersion == "" || h.Kind == "" || (h.Kind != "Kustomization" && h.Metadata.Name == "") {
				t.Fatalf("%s: a document without apiVersion, kind or metadata.name", f)
			}
			m.byKind[h.Kind] = append(m.byKind[h.Kind], &doc)
		}
	}
	return m
}

// one decodes the only object of kind into v.
func (m manifests) one(t *testing.T, kind string, v any) {
	t.Helper()
	docs := m.byKind[kind]
	if len(docs) != 1 {
		t.Fatalf("%d %s objects, want 1", len(docs), kind)
	}
	if err := docs[0].Decode(v); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
}

func (m manifests) deployment(t *testing.T) (deployment, container) {
	t.Helper()
	var d deployment
	m.one(t, "Deployment", &d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

func env(c container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

func port(t *testing.T, c container, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container has no port %q", name)
	return 0
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	m := load(t)
	var k struct {
		Resources []string `yaml:"resources"`
	}
	m.one(t, "Kustomization", &k)
	for _, f := range m.files {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ServiceAccount"} {
		if len(m.byKind[kind]) != 1 {
			t.Errorf("%d %s objects, want 1", len(m.byKind[kind]), kind)
		}
	}
}

func TestPodIsLockedDown(t *testing.T) {
	d, c := load(t).deployment(t)
	pod := d.Spec.Template.Spec
	yes := func(b *bool) bool { return b != nil && *b }
	no := func(b *bool) bool { return b != nil && !*b }
	for _, check := range []struct {
		name string
		ok   bool
	}{
		{"the pod runs as non-root", pod.SecurityContext != nil && yes(pod.SecurityContext.RunAsNonRoot)},
		{"the pod's seccomp profile is RuntimeDefault", pod.SecurityContext != nil && pod.SecurityContext.SeccompProfile != nil && pod.SecurityContext.SeccompProfile.Type == "RuntimeDefault"},
		{"the pod shares neither the host's network nor its processes", !pod.HostNetwork && !pod.HostPID},
		{"the pod mounts no service account token", no(pod.AutomountServiceAccountToken)},
		{"the container has a security context", c.SecurityContext != nil},
	} {
		if !check.ok {
			t.Errorf("not so: %s", check.name)
		}
	}
	if c.SecurityContext == nil {
		return
	}
	sc := c.SecurityContext
	for _, check := range []struct {
		name string
		ok   bool
	}{
		{"the container runs as non-root", yes(sc.RunAsNonRoot)},
		{"the container runs as a non-zero user", sc.RunAsUser != nil && *sc.RunAsUser > 0},
		{"the container cannot escalate privileges", no(sc.AllowPrivilegeEscalation)},
		{"the container is not privileged", no(sc.Privileged)},
		{"the container's root file system is read-only", yes(sc.ReadOnlyRootFilesystem)},
		{"the container drops ALL capabilities and adds none", sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) && len(sc.Capabilities.Add) == 0},
		{"the container's seccomp profile is RuntimeDefault", sc.SeccompProfile != nil && sc.SeccompProfile.Type == "RuntimeDefault"},
		{"the container requests CPU and memory", c.Resources.Requests["cpu"] != "" && c.Resources.Requests["memory"] != ""},
		{"the container's memory is limited", c.Resources.Limits["memory"] != ""},
		{"the container has an image", c.Image != ""},
	} {
		if !check.ok {
			t.Errorf("not so: %s", check.name)
		}
	}
}

func TestSelectorsMatchTheDeployment(t *testing.T) {
	m := load(t)
	d, c := m.deployment(t)
	pods := d.Spec.Template.Metadata.Labels
	matches := func(sel map[string]string) bool {
		if len(sel) == 0 {
			return false
		}
		for k, v := range sel {
			if pods[k] != v {
				return false
			}
		}
		return true
	}
	var svc service
	m.one(t, "Service", &svc)
	var budget pdb
	m.one(t, "PodDisruptionBudget", &budget)
	var scaler hpa
	m.one(t, "HorizontalPodAutoscaler", &scaler)

	t.Run("the Deployment selects its own pods", func(t *testing.T) {
		if !matches(d.Spec.Selector.MatchLabels) {
			t.Errorf("selector %v, pod labels %v", d.Spec.Selector.MatchLabels, pods)
		}
	})
	t.Run("the Service selects the Deployment's pods", func(t *testing.T) {
		if !matches(svc.Spec.Selector) {
			t.Errorf("selector %v, pod labels %v", svc.Spec.Selector, pods)
		}
	})
	t.Run("the Service targets named container ports and not the metrics port", func(t *testing.T) {
		for _, p := range svc.Spec.Ports {
			port(t, c, p.TargetPort)
			if p.TargetPort == "metrics" {
				t.Error("the Service exposes the metrics port")
			}
		}
	})
	t.Run("the disruption budget selects the Deployment's pods and lets one go at a time", func(t *testing.T) {
		if !matches(budget.Spec.Selector.MatchLabels) {
			t.Errorf("selector %v, pod labels %v", budget.Spec.Selector.MatchLabels, pods)
		}
		if budget.Spec.MaxUnavailable == nil || *budget.Spec.MaxUnavailable != 1 {
			t.Errorf("maxUnavailable %v, want 1", budget.Spec.MaxUnavailable)
		}
	})
	t.Run("the autoscaler scales the Deployment and keeps two replicas for the budget", func(t *testing.T) {
		ref := scaler.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Metadata.Name {
			t.Errorf("scaleTargetRef %+v, want the Deployment %s", ref, d.Metadata.Name)
		}
		if scaler.Spec.MinReplicas < 2 || scaler.Spec.MaxReplicas < scaler.Spec.MinReplicas {
			t.Errorf("replicas %d..%d", scaler.Spec.MinReplicas, scaler.Spec.MaxReplicas)
		}
	})
}

func TestTLSSecretIsMountedAsADirectory(t *testing.T) {
	d, c := load(t).deployment(t)
	e := env(c)
	for _, name := range []string{"TLS_CERT_FILE", "TLS_KEY_FILE"} {
		file := e[name]
		i := slices.IndexFunc(c.VolumeMounts, func(v volumeMount) bool {
			return file != "" && filepath.Dir(file) == v.MountPath
		})
		if i < 0 {
			t.Errorf("%s=%q is not in a mounted directory", name, file)
			continue
		}
		mount := c.VolumeMounts[i]
		if mount.SubPath != "" || !mount.ReadOnly {
			t.Errorf("mount %s: subPath %q (the kubelet never updates one), readOnly %v", mount.Name, mount.SubPath, mount.ReadOnly)
		}
		if !slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v volume) bool {
			return v.Name == mount.Name && v.Secret != nil && v.Secret.SecretName != ""
		}) {
			t.Errorf("volume %s is not a secret", mount.Name)
		}
	}
}

// TestTheDeploymentsServerAnswersItsProbes reads the Deployment's
// environment as the server does, then runs the server with it (on
// loopback ports of its own, with the test identity provider and a test
// certificate in place of the real ones) and asks the probes' paths.
func TestTheDeploymentsServerAnswersItsProbes(t *testing.T) {
	d, c := load(t).deployment(t)
	e := env(c)
	var environ []string
	for k, v := range e {
		environ = append(environ, k+"="+v)
	}
	cfg, err := server.LoadConfig(environ, "")
	if err != nil {
		t.Fatalf("the Deployment's environment: %v", err)
	}
	for _, check := range []struct{ name, got, want string }{
		{"GRPC_ADDR", cfg.GRPCAddr, ":" + strconv.Itoa(port(t, c, "grpc"))},
		{"HTTP_ADDR", cfg.HTTPAddr, ":" + strconv.Itoa(port(t, c, "https"))},
		{"METRICS_ADDR", cfg.MetricsAddr, ":" + strconv.Itoa(port(t, c, "metrics"))},
		{"the scraped port", d.Spec.Template.Metadata.Annotations["prometheus.io/port"], strconv.Itoa(port(t, c, "metrics"))},
		{"the scraped path", d.Spec.Template.Metadata.Annotations["prometheus.io/path"], server.MetricsPath},
		{"TLS_CERT_FILE", cfg.TLSCertFile, e["TLS_CERT_FILE"]},
		{"AZUREAD_TENANT_ID", cfg.TenantID, e["AZUREAD_TENANT_ID"]},
		{"AZUREAD_CLIENT_ID", cfg.ClientID, e["AZUREAD_CLIENT_ID"]},
	} {
		if check.got != check.want || check.want == "" {
			t.Errorf("%s: the server reads %q, want %q", check.name, check.got, check.want)
		}
	}
	if cfg.DevMode || cfg.InsecurePlaintext {
		t.Errorf("the Deployment runs in development mode (%v) or without TLS (%v)", cfg.DevMode, cfg.InsecurePlaintext)
	}

	idp := entratest.NewServer(t)
	cfg.TLSCertFile, cfg.TLSKeyFile = servertest.TLSFiles(t)
	cfg.TenantID, cfg.ClientID, cfg.AuthorityHost, cfg.Audiences = idp.TenantID(), idp.ClientID(), idp.Authority(), nil
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	// Start returns once the keys are loaded: the readiness probe's path
	// answers 200 from then on.
	srv := servertest.Start(t, cfg, server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}))
	// The kubelet does not verify the certificate of an HTTPS probe.
	kubelet := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer kubelet.CloseIdleConnections()
	for name, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		t.Run("the "+name+" probe's path answers 200", func(t *testing.T) {
			if p == nil || p.HTTPGet == nil {
				t.Fatalf("no %s probe", name)
			}
			if p.HTTPGet.Port != "https" || p.HTTPGet.Scheme != "HTTPS" {
				t.Errorf("probe on port %q scheme %q, want the https port over HTTPS", p.HTTPGet.Port, p.HTTPGet.Scheme)
			}
			scheme, hostport, _ := strings.Cut(srv.HTTPURL(), "://")
			resp, err := kubelet.Get(strings.ToLower(p.HTTPGet.Scheme) + "://" + hostport + p.HTTPGet.Path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || scheme != "https" {
				t.Errorf("GET %s: %s on a %s listener", p.HTTPGet.Path, resp.Status, scheme)
			}
		})
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("readiness must be /readyz (keys loaded) and liveness /healthz (process alive)")
	}
	t.Run("the scraped endpoint answers", func(t *testing.T) {
		resp, err := http.Get(srv.MetricsURL())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", srv.MetricsURL(), resp.Status)
		}
	})
}

// TestDockerfileBuildsTheStaticNonRootServer reads the Dockerfile, which
// cannot be built here (no container runtime): the static build it runs
// is the one `make test` runs.
func TestDockerfileBuildsTheStaticNonRootServer(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var froms []string
	var user, entrypoint string
	envs := map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entrypoint = strings.Join(f[1:], " ")
		case "ENV":
			for _, kv := range f[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					envs[k] = v
				}
			}
		}
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	toolchain := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(gomod)
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, c := load(t).deployment(t)
	for _, check := range []struct {
		name string
		ok   bool
	}{
		{"the build is multi-stage", len(froms) >= 2},
		{"the builder's Go is go.mod's toolchain", len(froms) > 0 && toolchain != nil && strings.HasPrefix(froms[0], "golang:"+string(toolchain[1])+"-")},
		{"the image runs on distroless static or scratch", len(froms) > 0 && (strings.HasPrefix(froms[len(froms)-1], "gcr.io/distroless/static") || froms[len(froms)-1] == "scratch")},
		{"the binary is static", strings.Contains(text, "CGO_ENABLED=0 ")},
		{"the binary is the command make run runs", strings.Contains(text, " ./cmd/grpc-azure-auth\n") && strings.Contains(string(makefile), "./cmd/grpc-azure-auth serve")},
		{"the image runs it with no arguments, as any server.Main program", entrypoint == `["/usr/local/bin/grpc-azure-auth"]`},
		{"the user is numeric and not root", regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(user)},
		{"the image listens on the Deployment's ports", envs["GRPC_ADDR"] == ":"+strconv.Itoa(port(t, c, "grpc")) &&
			envs["HTTP_ADDR"] == ":"+strconv.Itoa(port(t, c, "https")) && envs["METRICS_ADDR"] == ":"+strconv.Itoa(port(t, c, "metrics"))},
		{"the image's user is the Deployment's", c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil && user == strconv.FormatInt(*c.SecurityContext.RunAsUser, 10)+":"+strconv.FormatInt(*c.SecurityContext.RunAsUser, 10)},
	} {
		if !check.ok {
			t.Errorf("not so: %s", check.name)
		}
	}
}

package watch_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kvsync/kvsync/pkg/konnect"
)

// TestExamples: every kvsync metric the example alert rules and Grafana
// dashboard use is one kvsync watch exports, and the Kubernetes
// Deployment keeps to what the README promises (read-only root
// filesystem, non-root, the token from a Secret, both probes).
func TestExamples(t *testing.T) {
	f := newFixture(t, true)
	stores, err := f.base.ConfigStores.List(context.Background(), f.cpID, nil)
	if err != nil || len(stores) != 1 {
		t.Fatalf("stores %v: %v", stores, err)
	}
	if err := f.base.Secrets.Delete(context.Background(), f.cpID, stores[0].ID, "api-key"); err != nil {
		t.Fatal(err)
	}
	// Not declared, kvsync's: a delete that remediation leaves pending.
	if _, err := f.base.Vaults.Create(context.Background(), f.cpID, konnect.Vault{Name: "env", Prefix: "extra", Tags: []string{"kvsync"}}); err != nil {
		t.Fatal(err)
	}
	f.cycle() // a remediation and a pending delete: every family has a series
	exported := map[string]bool{}
	for _, line := range strings.Split(f.get("/metrics"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			exported[strings.Fields(rest)[0]] = true
		}
	}
	name := regexp.MustCompile(`\bkvsync_[a-z_]+`)
	for _, file := range []string{"alerts.yaml", "grafana-dashboard.json"} {
		raw, err := os.ReadFile("../../examples/watch/" + file)
		if err != nil {
			t.Fatal(err)
		}
		used := name.FindAllString(string(raw), -1)
		if len(used) == 0 {
			t.Errorf("%s uses no kvsync metric", file)
		}
		for _, m := range used {
			if base := strings.TrimSuffix(m, "_bucket"); !exported[base] && m != "kvsync_watch" {
				t.Errorf("%s uses %s, which kvsync watch does not export", file, m)
			}
		}
	}

	raw, err := os.ReadFile("../../examples/watch/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var deploy struct {
		Kind string
		Spec struct {
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []struct {
						Command         []string
						Env             []struct{ Name, Value string }
						SecurityContext struct {
							ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
							AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
						} `yaml:"securityContext"`
						LivenessProbe *struct {
							HTTPGet struct{ Path string } `yaml:"httpGet"`
						} `yaml:"livenessProbe"`
						ReadinessProbe *struct {
							HTTPGet struct{ Path string } `yaml:"httpGet"`
						} `yaml:"readinessProbe"`
					}
					Volumes []struct {
						Secret *struct {
							SecretName string `yaml:"secretName"`
						}
					}
				}
			}
		}
	}
	if err := yaml.NewDecoder(strings.NewReader(string(raw))).Decode(&deploy); err != nil {
		t.Fatal(err)
	}
	pod := deploy.Spec.Template.Spec
	if deploy.Kind != "Deployment" || len(pod.Containers) != 1 {
		t.Fatalf("deployment.yaml: kind %q with %d containers", deploy.Kind, len(pod.Containers))
	}
	c := pod.Containers[0]
	if !pod.SecurityContext.RunAsNonRoot || !c.SecurityContext.ReadOnlyRootFilesystem ||
		c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Error("deployment.yaml: not non-root with a read-only root filesystem and no privilege escalation")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("deployment.yaml: the probes are not /healthz and /readyz")
	}
	// The image has no entrypoint (Dockerfile): the command names kvsync.
	if len(c.Command) < 2 || c.Command[0] != "kvsync" || c.Command[1] != "watch" {
		t.Errorf("deployment.yaml: the container runs %q", c.Command)
	}
	tokenFromSecret := false
	for _, e := range c.Env {
		if e.Name == "KVSYNC_KONNECT_TOKEN" {
			t.Error("deployment.yaml: the token is in the manifest")
		}
		if e.Name == "KVSYNC_KONNECT_TOKEN_FILE" {
			for _, v := range pod.Volumes {
				tokenFromSecret = tokenFromSecret || v.Secret != nil
			}
		}
	}
	if !tokenFromSecret {
		t.Error("deployment.yaml: the token is not read from a mounted Secret")
	}
}

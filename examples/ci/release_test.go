package ci

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestReleaseConfig checks, without goreleaser (make release-check runs
// it), that the release configuration builds what the install paths
// expect: every platform, the version stamped, the archive and checksum
// names the action downloads.
func TestReleaseConfig(t *testing.T) {
	data, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version int `yaml:"version"`
		Builds  []struct {
			Main    string   `yaml:"main"`
			Env     []string `yaml:"env"`
			Goos    []string `yaml:"goos"`
			Goarch  []string `yaml:"goarch"`
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
		Archives []struct {
			NameTemplate string   `yaml:"name_template"`
			Formats      []string `yaml:"formats"`
		} `yaml:"archives"`
		Checksum struct {
			NameTemplate string `yaml:"name_template"`
		} `yaml:"checksum"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if cfg.Version != 2 || len(cfg.Builds) != 1 || len(cfg.Archives) != 1 {
		t.Fatalf(".goreleaser.yaml: want version 2, one build, one archive; got %d, %d, %d", cfg.Version, len(cfg.Builds), len(cfg.Archives))
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/kvsync" || !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("the build is %q with env %v, want ./cmd/kvsync, static (CGO_ENABLED=0)", b.Main, b.Env)
	}
	for _, want := range []string{"linux", "darwin", "windows"} {
		if !slices.Contains(b.Goos, want) {
			t.Errorf("no %s build", want)
		}
	}
	for _, want := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.Goarch, want) {
			t.Errorf("no %s build", want)
		}
	}
	if !strings.Contains(strings.Join(b.Ldflags, " "), "-X main.version=v{{ .Version }}") {
		t.Errorf("ldflags %v do not stamp main.version as vX.Y.Z", b.Ldflags)
	}
	action, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The action downloads kvsync_${version#v}_${os}_${arch}.tar.gz and
	// checksums.txt.
	if got := cfg.Archives[0].NameTemplate; got != "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}" ||
		!strings.Contains(string(action), `archive="kvsync_${version#v}_${os}_${arch}.tar.gz"`) {
		t.Errorf("the archive name %q and the one action.yml downloads disagree", got)
	}
	if !slices.Contains(cfg.Archives[0].Formats, "tar.gz") {
		t.Errorf("archive formats %v: the action unpacks tar.gz", cfg.Archives[0].Formats)
	}
	if cfg.Checksum.NameTemplate != "checksums.txt" || !strings.Contains(string(action), "checksums.txt") {
		t.Errorf("the checksum file %q and the one action.yml checks disagree", cfg.Checksum.NameTemplate)
	}
}

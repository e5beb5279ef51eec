package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SavedSetFormatVersion is the version of a saved plan of several
// environments (diff --environments --out): {"format_version": "2",
// "environments": [{"name": …, "saved": <a saved plan, format "1">}]}.
const SavedSetFormatVersion = "2"

// SavedEnvironment is one environment's saved plan in a set.
type SavedEnvironment struct {
	Name  string          `json:"name"`
	Saved json.RawMessage `json:"saved"`
}

// SaveSet writes the saved plans of several environments as one file;
// each is what Save writes for its control plane.
func SaveSet(w io.Writer, envs []SavedEnvironment) error {
	raw, err := json.MarshalIndent(struct {
		FormatVersion string             `json:"format_version"`
		Environments  []SavedEnvironment `json:"environments"`
	}{SavedSetFormatVersion, envs}, "", "  ")
	if err != nil {
		return fmt.Errorf("saving the plans: %w", err)
	}
	_, err = w.Write(append(raw, '\n'))
	return err
}

// ReadSavedSet reads a saved plan of several environments, by name. A
// saved plan of one control plane is refused, and the reverse (ReadSaved
// of a set) says the set needs the environments.
func ReadSavedSet(r io.Reader) (map[string]*SavedPlan, []string, error) {
	var doc struct {
		FormatVersion string             `json:"format_version"`
		Environments  []SavedEnvironment `json:"environments"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 1<<30)).Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("not a saved kvsync plan: %w", err)
	}
	if doc.FormatVersion == SavedFormatVersion {
		return nil, nil, errors.New("the plan file is one control plane's plan (made without --environments); make the plan of the environments with diff --environments --out")
	}
	if doc.FormatVersion != SavedSetFormatVersion {
		return nil, nil, fmt.Errorf("the plan file has format %q; this kvsync reads format %s for environments (make the plan again with this kvsync)", doc.FormatVersion, SavedSetFormatVersion)
	}
	out := map[string]*SavedPlan{}
	var order []string
	for _, e := range doc.Environments {
		s, err := ReadSaved(bytes.NewReader(e.Saved))
		if err != nil {
			return nil, nil, fmt.Errorf("environment %s: %w", e.Name, err)
		}
		if _, dup := out[e.Name]; dup {
			return nil, nil, fmt.Errorf("environment %s is in the plan file twice", e.Name)
		}
		out[e.Name] = s
		order = append(order, e.Name)
	}
	return out, order, nil
}

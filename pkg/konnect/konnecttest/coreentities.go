package konnecttest

import "net/http"

func notImplemented(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotImplemented, "application/json", map[string]any{"message": "not implemented yet"})
}

func (e *Emulator) listEntities(w http.ResponseWriter, r *http.Request, cp, kind string) {
	notImplemented(w)
}
func (e *Emulator) createEntity(w http.ResponseWriter, r *http.Request, cp, kind string) {
	notImplemented(w)
}
func (e *Emulator) getEntity(w http.ResponseWriter, r *http.Request, cp, kind, ref string) {
	notImplemented(w)
}
func (e *Emulator) upsertEntity(w http.ResponseWriter, r *http.Request, cp, kind, ref string) {
	notImplemented(w)
}
func (e *Emulator) deleteEntity(w http.ResponseWriter, r *http.Request, cp, kind, ref string) {
	notImplemented(w)
}
func (e *Emulator) getPluginSchema(w http.ResponseWriter, r *http.Request, cp, name string) {
	notImplemented(w)
}

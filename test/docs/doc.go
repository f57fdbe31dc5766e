// Package docs holds tests that keep docs/troubleshooting.md true to the
// code: every message its tables quote is one the plugin (or the CNI
// library it links) can produce, and every message the plugin gives with
// a CNI code of its own, or as a host link refusal, is in the doc. They
// read the Go source; they need no kernel.
package docs

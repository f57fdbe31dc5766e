// Package docs holds tests that keep docs/troubleshooting.md true to the
// code: every message its tables quote is one the plugin (or the CNI
// library it links) can produce, and every message the plugin gives with
// a CNI code of its own, or as a host link refusal, is in the doc. Others
// keep README.md and docs/*.md true about the tests: every test they name
// exists, and every count they give of a test's work is the count that
// test uses. They read the Go source; they need no kernel.
package docs

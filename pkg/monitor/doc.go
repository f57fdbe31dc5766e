// Package monitor is the node agent's core: it follows every bond this
// plugin made on the node, found through the plugin's state records, and
// keeps what Prometheus is served about each: how many slaves are up,
// whether redundancy is lost, which slave is active, how often it changed.
//
// It only reads: the records, and netlink dumps and link-update
// subscriptions inside each pod's netns. It changes nothing on the node
// or in any pod.
package monitor

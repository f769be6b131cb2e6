package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Identity holds the synthetic but stable names and ids of a scenario's
// Kubernetes objects. They are derived from the scenario name so that a
// regenerated bundle keeps its pod name and uids (small golden diffs) and so
// that the runner can name the real cgroup after the pod before the bundle exists.
type Identity struct {
	PodName        string
	PodUID         string
	TemplateHash   string
	ReplicaSet     string
	DeploymentUID  string
	ReplicaSetUIDs []string
	PodIP          string
	HostIP         string
	ImageDigest    string
	seed           string
}

// NewIdentity derives the identity of scenario s.
func NewIdentity(s *Scenario) Identity {
	seed := s.Namespace + "/" + s.App + "/" + s.Name
	id := Identity{seed: seed}
	id.TemplateHash = kubeSuffix(seed+"/template", 10)
	id.ReplicaSet = s.App + "-" + id.TemplateHash
	id.PodName = id.ReplicaSet + "-" + kubeSuffix(seed+"/pod", 5)
	id.PodUID = uid(seed + "/pod")
	id.DeploymentUID = uid(seed + "/deployment")
	for i := range s.Revisions {
		id.ReplicaSetUIDs = append(id.ReplicaSetUIDs, uid(fmt.Sprintf("%s/rs/%d", seed, i)))
	}
	h := sum(seed + "/ip")
	id.HostIP = fmt.Sprintf("10.0.%d.%d", 16+h[0]%16, 10+h[1]%200)
	id.PodIP = fmt.Sprintf("10.0.%d.%d", 64+h[2]%64, 2+h[3]%250)
	id.ImageDigest = "sha256:" + hex.EncodeToString(sum(seed+"/image"))
	return id
}

// ContainerID is the 64-hex id of the container's nth incarnation (0-based).
func (id Identity) ContainerID(n int) string {
	return hex.EncodeToString(sum(fmt.Sprintf("%s/container/%d", id.seed, n)))
}

// CgroupPath is where the kubelet's cgroupfs driver puts a Burstable pod's container.
func (id Identity) CgroupPath(n int) string {
	return "kubepods/burstable/pod" + id.PodUID + "/" + id.ContainerID(n)
}

// ResourceVersion is a plausible, stable resourceVersion for object kind.
func (id Identity) ResourceVersion(kind string) string {
	return fmt.Sprint(40_000_000 + binary.BigEndian.Uint32(sum(id.seed+"/rv/"+kind))%9_000_000)
}

// Name derives a stable lowercase suffix of n characters for kind, e.g. volume names.
func (id Identity) Name(kind string, n int) string {
	return kubeSuffix(id.seed+"/"+kind, n)
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func uid(s string) string {
	h := sum(s)
	h[6] = h[6]&0x0f | 0x40 // version 4, like the API server's random uids
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// kubeSuffix uses the alphabet of k8s.io/apimachinery's rand.SafeEncodeString,
// which is what generated names and pod-template-hash values are made of.
func kubeSuffix(s string, n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	h := sum(s)
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[int(h[i])%len(alphabet)]
	}
	return string(out)
}

package redact

import "testing"

func TestAnonymizerAliases(t *testing.T) {
	a := NewAnonymizer()
	steps := []struct{ kind, real, want string }{
		{"namespace", "shop", "namespace-1"},
		{"pod", "checkout-7d9f-abcde", "pod-1"},
		{"workload", "checkout", "workload-1"},
		{"namespace", "shop", "namespace-1"}, // same real, same alias
		{"pod", "shop", "namespace-1"},       // whatever kind it comes back as
		{"namespace", "media", "namespace-2"},
		{"pod", "", ""},
		{"", "prod-eu", "name-1"},
	}
	for _, s := range steps {
		if got := a.Add(s.kind, s.real); got != s.want {
			t.Errorf("Add(%q, %q) = %q, want %q", s.kind, s.real, got, s.want)
		}
	}
}

func TestAnonymizerApplyReverse(t *testing.T) {
	a := NewAnonymizer()
	a.Add("namespace", "shop")
	a.Add("pod", "checkout-7d9f-abcde")
	a.Add("workload", "checkout")
	a.Add("cluster", "prod-eu-west-1")
	a.Add("image", "registry.example.com/shop/checkout:1.4.2")
	cases := []struct{ in, want string }{
		{"pod shop/checkout-7d9f-abcde OOMKilled", "pod namespace-1/pod-1 OOMKilled"},
		{"the workshop and shopping carts", "the workshop and shopping carts"},
		{"Deployment checkout revision 3 (rs checkout-7d9f)", "Deployment workload-1 revision 3 (rs workload-1-7d9f)"},
		{"image registry.example.com/shop/checkout:1.4.2 on prod-eu-west-1", "image image-1 on cluster-1"},
		{"checkout", "workload-1"},
		{"", ""},
	}
	for _, c := range cases {
		got := a.Apply(c.in)
		if got != c.want {
			t.Errorf("Apply(%q) = %q, want %q", c.in, got, c.want)
		}
		if back := a.Reverse(got); back != c.in {
			t.Errorf("Reverse(%q) = %q, want %q", got, back, c.in)
		}
	}
}

// Aliases never collide with each other or with real names, and a longer
// alias is not mistaken for a shorter one.
func TestAnonymizerAliasBoundaries(t *testing.T) {
	a := NewAnonymizer()
	for i := 0; i < 10; i++ {
		a.Add("pod", string(rune('a'+i))+"-pod")
	}
	a.Add("pod", "pod-1") // a real name that looks like an alias
	if got := a.Apply("pod-1"); got == "pod-1" {
		t.Fatalf("real name pod-1 not anonymized")
	}
	alias := a.Apply("pod-1")
	if alias == "pod-1" || alias == "pod-10" {
		t.Errorf("real pod-1 got alias %q, which shadows another", alias)
	}
	if got := a.Reverse("pod-1 pod-10 " + alias); got != "a-pod j-pod pod-1" {
		t.Errorf("Reverse = %q", got)
	}
}

func TestAnonymizerNothingRegistered(t *testing.T) {
	a := NewAnonymizer()
	if got := a.Apply("shop/checkout"); got != "shop/checkout" {
		t.Errorf("Apply with no names = %q", got)
	}
}

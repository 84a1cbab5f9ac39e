package mxorder_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dualstack/dualstack/mxorder"
	"github.com/dualstack/dualstack/mxorder/mxordertest"
)

// stsServer serves policies over HTTPS by path: /DOMAIN/.well-known/mta-sts.txt.
type stsServer struct {
	mu    sync.Mutex
	hits  map[string]int
	reply map[string]func(w http.ResponseWriter)
	srv   *httptest.Server
}

func newSTSServer(t *testing.T) *stsServer {
	s := &stsServer{hits: map[string]int{}, reply: map[string]func(http.ResponseWriter){}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		domain, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		s.mu.Lock()
		s.hits[r.URL.Path]++
		f := s.reply[domain]
		s.mu.Unlock()
		if f == nil {
			http.NotFound(w, r)
			return
		}
		f(w)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stsServer) set(domain string, f func(w http.ResponseWriter)) {
	s.mu.Lock()
	s.reply[domain] = f
	s.mu.Unlock()
}

func (s *stsServer) count(domain string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits["/"+domain+"/.well-known/mta-sts.txt"]
}

func serve(ctype, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", ctype)
		w.Write([]byte(body))
	}
}

// cache returns an STSCache that fetches from s, with a clock the test
// moves.
func (s *stsServer) cache(now *time.Time) *mxorder.STSCache {
	return &mxorder.STSCache{
		Client:  s.srv.Client(),
		URL:     func(d string) string { return s.srv.URL + "/" + d + "/.well-known/mta-sts.txt" },
		Timeout: 2 * time.Second,
		Now:     func() time.Time { return *now },
	}
}

func TestSTSCacheLifecycle(t *testing.T) {
	s := newSTSServer(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := s.cache(&now)
	res := mxordertest.New().TXT("_mta-sts.example.com", "v=STSv1; id=20160831085700Z;")
	s.set("example.com", serve("text/plain; charset=utf-8", rfc8461Policy))
	ctx := context.Background()
	get := func(step string, wantID string, wantErr bool, wantHits int) {
		t.Helper()
		p, err := c.Policy(ctx, res, "example.com")
		switch {
		case wantErr && err == nil:
			t.Errorf("%s: Policy error = nil; want an error", step)
		case !wantErr && err != nil:
			t.Errorf("%s: Policy: %v", step, err)
		}
		gotID := ""
		if p != nil {
			gotID = p.ID
		}
		if gotID != wantID {
			t.Errorf("%s: policy id %q; want %q", step, gotID, wantID)
		}
		if n := s.count("example.com"); n != wantHits {
			t.Errorf("%s: %d fetches; want %d", step, n, wantHits)
		}
	}
	get("first", "20160831085700Z", false, 1)
	now = now.Add(time.Hour)
	get("cached", "20160831085700Z", false, 1)

	// A new id: refetched.
	res = mxordertest.New().TXT("_mta-sts.example.com", "v=STSv1; id=2")
	get("new-id", "2", false, 2)

	// The refresh fails: the last good policy is kept, and the failed id
	// is not fetched again within five minutes.
	res = mxordertest.New().TXT("_mta-sts.example.com", "v=STSv1; id=3")
	s.set("example.com", func(w http.ResponseWriter) { http.Error(w, "down", http.StatusInternalServerError) })
	get("refresh-fails", "2", true, 3)
	now = now.Add(4 * time.Minute)
	get("no-retry-within-5-minutes", "2", true, 3)
	now = now.Add(2 * time.Minute)
	s.set("example.com", serve("text/plain", rfc8461Policy))
	get("retry-after-5-minutes", "3", false, 4)

	// The record vanishes: the cached policy applies until max_age.
	res = mxordertest.New()
	get("record-gone", "3", false, 4)
	now = now.Add(604800 * time.Second)
	get("expired", "", false, 4)
}

func TestSTSCacheFetchRules(t *testing.T) {
	s := newSTSServer(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		txt     []string
		reply   func(w http.ResponseWriter)
		fetches int  // requests to the domain's policy URL
		policy  bool // a policy comes back
		errText string
	}{
		{name: "ok", txt: []string{"v=STSv1; id=1"}, reply: serve("text/plain", rfc8461Policy), fetches: 1, policy: true},
		{name: "no-record", fetches: 0},
		{name: "two-records", txt: []string{"v=STSv1; id=1", "v=STSv1; id=2"}, reply: serve("text/plain", rfc8461Policy), fetches: 0},
		{name: "other-records-discarded", txt: []string{"v=spf1 -all", "v=STSv1;id=1", "v=STSv10; id=9"}, reply: serve("text/plain", rfc8461Policy), fetches: 1, policy: true},
		{name: "invalid-record", txt: []string{"v=STSv1; id=not-valid"}, reply: serve("text/plain", rfc8461Policy), fetches: 0},
		{name: "not-found", txt: []string{"v=STSv1; id=1"}, fetches: 1, errText: "404"},
		{name: "html", txt: []string{"v=STSv1; id=1"}, reply: serve("text/html", rfc8461Policy), fetches: 1, errText: "not text/plain"},
		{name: "redirect-not-followed", txt: []string{"v=STSv1; id=1"}, reply: func(w http.ResponseWriter) {
			w.Header().Set("Location", "/ok/.well-known/mta-sts.txt")
			w.WriteHeader(http.StatusMovedPermanently)
		}, fetches: 1, errText: "301"},
		{name: "too-big", txt: []string{"v=STSv1; id=1"}, reply: serve("text/plain", rfc8461Policy+"x: "+strings.Repeat("y", 70000)+"\r\n"), fetches: 1, errText: "longer than"},
		{name: "invalid-policy", txt: []string{"v=STSv1; id=1"}, reply: serve("text/plain", "version: STSv1\n"), fetches: 1, errText: "invalid policy"},
		{name: "timeout", txt: []string{"v=STSv1; id=1"}, reply: func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond) }, fetches: 1, errText: "request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain := tt.name + ".example"
			res := mxordertest.New()
			for _, r := range tt.txt {
				res.TXT("_mta-sts."+domain, r)
			}
			s.set(domain, tt.reply)
			s.set("ok", serve("text/plain", rfc8461Policy))
			c := s.cache(&now)
			c.Timeout = 100 * time.Millisecond
			p, err := c.Policy(context.Background(), res, domain)
			if (p != nil) != tt.policy {
				t.Errorf("policy = %v; want one: %v", p, tt.policy)
			}
			switch {
			case tt.errText == "" && err != nil:
				t.Errorf("Policy: %v", err)
			case tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
				t.Errorf("Policy error = %v; want one containing %q", err, tt.errText)
			}
			if tt.errText != "" {
				var fe *mxorder.STSFetchError
				if !errors.As(err, &fe) {
					t.Errorf("error %v is not an *STSFetchError", err)
				}
			}
			if n := s.count(domain); n != tt.fetches {
				t.Errorf("%d fetches; want %d", n, tt.fetches)
			}
		})
	}
	if n := s.count("ok"); n != 0 {
		t.Errorf("the redirect was followed (%d requests to its target)", n)
	}
}

// TestPlannerSTS checks that a Planner with an STSCache applies the
// policy it fetches through its own Resolver, and records a failure.
func TestPlannerSTS(t *testing.T) {
	s := newSTSServer(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := policyDNS().TXT("_mta-sts.example.com", "v=STSv1; id=7")
	s.set("example.com", serve("text/plain", rfc8461Policy))
	p := mxorder.Planner{Resolver: res, Families: mxorder.IPv4, STS: s.cache(&now)}
	plan, err := p.Plan(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if plan.STS == nil || plan.STS.ID != "7" || plan.STS.Mode != mxorder.STSModeEnforce {
		t.Fatalf("plan.STS = %+v; want the enforced policy with id 7", plan.STS)
	}
	if got := hostSkips(plan); len(got) != 1 || got[0] != "rogue.example.org mta-sts-unlisted" {
		t.Errorf("host skips = %v; want rogue.example.org skipped", got)
	}
	r, err := p.Audit(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Has(mxorder.CodeSTSUnlisted) || !r.Has(mxorder.CodeSTSUnusedPattern) || r.Has(mxorder.CodeSTSNoMX) {
		t.Errorf("audit findings:\n%s\nwant mta-sts-unlisted and mta-sts-unused-pattern only", r)
	}

	// No policy can be fetched: delivery proceeds without one, and the
	// plan says why.
	res2 := policyDNS().TXT("_mta-sts.example.com", "v=STSv1; id=8")
	s.set("example.com", serve("text/html", "<html>"))
	p = mxorder.Planner{Resolver: res2, Families: mxorder.IPv4, STS: s.cache(&now)}
	plan, err = p.Plan(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if plan.STS != nil || len(plan.Attempts()) != 3 {
		t.Errorf("plan without a policy: STS %+v, %d attempts; want none and 3", plan.STS, len(plan.Attempts()))
	}
	if len(plan.LookupErrors) != 1 || plan.LookupErrors[0].Network != "mta-sts" {
		t.Errorf("LookupErrors = %+v; want the failed fetch", plan.LookupErrors)
	}
}

type noTXT struct{ mxorder.Resolver }

func TestSTSCacheNeedsTXT(t *testing.T) {
	var c mxorder.STSCache
	_, err := c.Policy(context.Background(), noTXT{policyDNS()}, "example.com")
	if !errors.Is(err, mxorder.ErrNoTXTResolver) {
		t.Errorf("Policy error = %v; want ErrNoTXTResolver", err)
	}
}

package mxorder

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TXTResolver is an optional extension of [Resolver] (*net.Resolver has
// it) with which the [STSCache] looks up the _mta-sts TXT record.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

var _ TXTResolver = (*net.Resolver)(nil)

// Defaults of the [STSCache].
const (
	// DefaultSTSTimeout bounds one policy fetch (RFC 8461 section 3.3
	// suggests one minute).
	DefaultSTSTimeout = time.Minute
	// STSRetryAfter is how long a policy id whose fetch failed is not
	// fetched again (RFC 8461 section 3.3: five minutes or longer).
	STSRetryAfter = 5 * time.Minute
	maxSTSEntries = 4096 // domains cached; see STSCache
)

// ErrNoTXTResolver: the Resolver given to [STSCache.Policy] is not a
// [TXTResolver], so MTA-STS cannot be discovered.
var ErrNoTXTResolver = errors.New("resolver cannot look up TXT records")

// STSCache discovers, fetches and caches MTA-STS policies (RFC 8461
// sections 3 and 5.1). The zero value is ready to use; its fields must
// not change once it is in use; it is safe for concurrent use. A policy
// is cached for its max_age, fetched again when the TXT record's id
// changes, and kept while a refresh fails; a failed fetch is not
// repeated for the same id within [STSRetryAfter]. Of more than 4096
// domains, expired policies are dropped first, then arbitrary ones.
type STSCache struct {
	// Client fetches the policies; nil means a default http.Client.
	// Redirects are never followed (RFC 8461 section 3.3), and Timeout
	// applies when the client's is 0.
	Client *http.Client
	// URL returns the policy URL of a domain. Nil means
	// https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 section
	// 3.2).
	URL     func(domain string) string
	Timeout time.Duration    // bounds one fetch; 0 means DefaultSTSTimeout
	Now     func() time.Time // the clock; nil means time.Now

	mu      sync.Mutex
	entries map[string]*stsEntry
}

// stsEntry is the cache's state for one domain.
type stsEntry struct {
	policy   *STSPolicy // the last good policy, or nil
	fetched  time.Time  // when policy was fetched
	failedID string     // the id whose fetch failed last
	failedAt time.Time  // when
}

func (e *stsEntry) valid(now time.Time) bool {
	return e != nil && e.policy != nil && now.Before(e.fetched.Add(e.policy.MaxAge))
}

func (c *STSCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Policy returns the MTA-STS policy of domain (canonical form), looking
// its _mta-sts TXT record up with r and fetching the policy when the
// cache has none for that id (RFC 8461 section 5.1 step 1); nil and no
// error when the domain has none. When the record or the fetch fails it
// returns the unexpired cached policy, if any, with the error (section
// 3.3): deliver with the policy when it is not nil. A vanished record
// does not remove a cached policy. The policy is shared: do not modify
// it.
func (c *STSCache) Policy(ctx context.Context, r Resolver, domain string) (*STSPolicy, error) {
	now := c.now()
	c.mu.Lock()
	e := c.entries[domain]
	var cached *STSPolicy
	if e.valid(now) {
		cached = e.policy
	}
	c.mu.Unlock()
	rec, err := c.lookupRecord(ctx, r, domain)
	if err != nil || rec == nil {
		return cached, err
	}
	if cached != nil && cached.ID == rec.ID {
		return cached, nil
	}
	c.mu.Lock()
	backoff := e != nil && e.failedID == rec.ID && now.Sub(e.failedAt) < STSRetryAfter
	c.mu.Unlock()
	if backoff {
		return cached, fmt.Errorf("mxorder: MTA-STS policy of %s (id %s): last fetch failed less than %v ago", domain, rec.ID, STSRetryAfter)
	}
	pol, err := c.fetch(ctx, domain)
	c.mu.Lock()
	defer c.mu.Unlock()
	e = c.entry(domain, now)
	if err != nil {
		e.failedID, e.failedAt = rec.ID, now
		return cached, err
	}
	pol.ID = rec.ID
	e.policy, e.fetched, e.failedID = pol, now, ""
	return pol, nil
}

// entry returns the entry of domain, making room when the cache is
// full. c.mu is held.
func (c *STSCache) entry(domain string, now time.Time) *stsEntry {
	if e := c.entries[domain]; e != nil {
		return e
	}
	if c.entries == nil {
		c.entries = make(map[string]*stsEntry)
	}
	if len(c.entries) >= maxSTSEntries {
		for d, e := range c.entries {
			if !e.valid(now) {
				delete(c.entries, d)
			}
		}
		for d := range c.entries {
			if len(c.entries) < maxSTSEntries {
				break
			}
			delete(c.entries, d)
		}
	}
	e := &stsEntry{}
	c.entries[domain] = e
	return e
}

// lookupRecord finds the _mta-sts TXT record of domain (RFC 8461
// section 3.1): anything but exactly one record beginning with
// "v=STSv1", and valid, means no policy (nil, nil).
func (c *STSCache) lookupRecord(ctx context.Context, r Resolver, domain string) (*STSRecord, error) {
	tr, ok := r.(TXTResolver)
	if !ok {
		return nil, fmt.Errorf("mxorder: MTA-STS record of %s: %w", domain, ErrNoTXTResolver)
	}
	txts, err := tr.LookupTXT(ctx, "_mta-sts."+domain+".")
	if err != nil {
		if notFound, _, _ := classify(err); notFound {
			return nil, nil
		}
		return nil, fmt.Errorf("mxorder: MTA-STS record of %s: %w", domain, err)
	}
	var found []string
	for _, t := range txts {
		if rest, ok := strings.CutPrefix(t, "v=STSv1"); ok && (rest == "" || strings.IndexAny(rest[:1], " \t;") == 0) {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		return nil, nil
	}
	rec, err := ParseSTSRecord(found[0])
	if err != nil {
		return nil, nil // an invalid record: no available policy
	}
	return rec, nil
}

// STSFetchError reports a policy fetch that failed (RFC 8461 section
// 3.3): the URL and why.
type STSFetchError struct {
	URL    string
	Reason string
	Err    error // the underlying error (HTTP, parse), if any
}

// Error names the URL and the reason.
func (e *STSFetchError) Error() string {
	s := "mxorder: fetching MTA-STS policy " + e.URL + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *STSFetchError) Unwrap() error { return e.Err }

// fetch gets and parses the policy of domain over HTTPS: status 200, no
// redirects, text/plain, bounded in time and size (RFC 8461 sections 3.2
// and 3.3).
func (c *STSCache) fetch(ctx context.Context, domain string) (*STSPolicy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	if c.URL != nil {
		url = c.URL(domain)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultSTSTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &STSFetchError{URL: url, Reason: "bad request", Err: err}
	}
	resp, err := c.client(timeout).Do(req)
	if err != nil {
		return nil, &STSFetchError{URL: url, Reason: "request failed", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &STSFetchError{URL: url, Reason: "status " + resp.Status + " (only 200 counts; redirects are not followed)"}
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, &STSFetchError{URL: url, Reason: "media type " + strconv.Quote(resp.Header.Get("Content-Type")) + " is not text/plain"}
	}
	pol, err := ParseSTSPolicy(resp.Body)
	if err != nil {
		return nil, &STSFetchError{URL: url, Reason: "invalid policy", Err: err}
	}
	return pol, nil
}

// client returns a copy of Client (or a new one) that refuses
// redirects, with timeout when it has none.
func (c *STSCache) client(timeout time.Duration) *http.Client {
	var hc http.Client
	if c.Client != nil {
		hc = *c.Client
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if hc.Timeout == 0 {
		hc.Timeout = timeout
	}
	return &hc
}

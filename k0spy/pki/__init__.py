"""The k0s PKI: CAs kept, leaves renewed on every start, kubeconfigs rewritten, all written atomically.

`ensure.ensure_pki(paths, settings)` is the one entry point the controller (and `--init-only`) calls, and
`ensure.ensure_etcd_pki` the etcd set alone; `settings.PKISettings` carries what they need from the cluster
config; `leaf.py` is the inventory as a table; `store.py` commits key+certificate pairs crash-safely;
`check.py` inspects what is on disk for `k0spy certificates check`; `renew.py` is renewal without a
restart (policy, plus `renew_due` for the daemon); `usercert.py` backs `k0spy kubeconfig admin|create`.
"""

"""Components: what k0spy runs (etcd, kube-apiserver, ...), each behind one lifecycle contract."""

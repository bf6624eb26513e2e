"""kube-apiserver double: flags/files (main), HTTP surface (app), storage in etcd (store), authn/authz."""

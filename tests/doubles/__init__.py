"""Contract doubles for the components that cannot be installed here (kube-apiserver, kube-scheduler,
kube-controller-manager, kubelet, kine, konnectivity-server).  See layout.py to build the executables."""

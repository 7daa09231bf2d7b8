"""softbond-cni: a CNI plugin (specification 1.0.0) that bonds a container's
links with softbond, configured like the community bond plugin
(k8snetworkplumbingwg/bond-cni) so its NetworkAttachmentDefinitions work
unchanged with "type": "softbond-cni".

spec.py: the protocol (environment, versions, results, error objects);
netconf.py: the network configuration (bond-cni keys, softbond options);
nsexec.py: running things in the container's network namespace;
ipam.py: delegating addresses to the IPAM plugin; plugin.py: ADD, DEL,
CHECK and VERSION.
"""

module cdk8s-shm.test/pathclean

go 1.22

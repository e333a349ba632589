module authserver.invalid/ci/vulndb

go 1.26

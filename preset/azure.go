package preset

import (
	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// AzureBlobReasons returns the Azure Blob Storage error codes (the
// x-ms-error-code header, and <Code> in the XML body) whose kind the
// built-in classification does not already give, mapped to their kind. The
// caller owns the map.
//
// A lease held by someone else makes a write fail with 412 LeaseIdMissing
// or LeaseIdMismatchWithBlobOperation, and an acquire with 409
// LeaseAlreadyPresent: the blob is locked, not stale, so the write is
// waited and re-sent unchanged, not refreshed and merged (a merge cannot
// make a lease go away). A lease whose id does not match a lease operation,
// or a broken lease renewed, are invalid transitions
// (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes,
// https://learn.microsoft.com/rest/api/storageservices/lease-blob).
func AzureBlobReasons() map[string]conflict.Kind {
	return map[string]conflict.Kind{
		"LeaseIdMissing":                        conflict.Locked,
		"LeaseIdMismatchWithBlobOperation":      conflict.Locked,
		"LeaseIdMismatchWithContainerOperation": conflict.Locked,
		"LeaseAlreadyPresent":                   conflict.Locked,
		"LeaseIsBreakingAndCannotBeAcquired":    conflict.Locked,
		"ContainerBeingDeleted":                 conflict.Locked,
		"PendingCopyOperation":                  conflict.Locked,
		"LeaseIdMismatchWithLeaseOperation":     conflict.InvalidTransition,
		"LeaseIsBrokenAndCannotBeRenewed":       conflict.InvalidTransition,
		"LeaseIsBreakingAndCannotBeChanged":     conflict.InvalidTransition,
		"LeaseNotPresentWithLeaseOperation":     conflict.InvalidTransition,
		"ContainerAlreadyExists":                conflict.Duplicate,
		"BlobAlreadyExists":                     conflict.Duplicate,
		"SnapshotsPresent":                      conflict.Dependency,
	}
}

// AzureBlob returns the rules for Azure Blob Storage under prefix: the
// account's path for path-style URLs (Azurite's "/devstoreaccount1"), or
// "/" on an account's own host (https://{account}.blob.core.windows.net).
//
// Azure's version is the blob's strong ETag: a write with a stale If-Match
// is answered 412 ConditionNotMet with no current version, so the blob is
// read again. Creating a container that exists is answered 409
// ContainerAlreadyExists; a blob written with If-None-Match: * that exists,
// 409 BlobAlreadyExists
// (https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations,
// https://learn.microsoft.com/rest/api/storageservices/create-container).
// Leases are classified by [AzureBlobReasons].
//
// The rules:
//
//	PUT {prefix}/{container}           ?restype=container: creates the container; an
//	                                   existing one is adopted (the create has no body:
//	                                   it means "make sure it exists")
//	PUT {prefix}/{container}/{blob...} If-Match/ETag; a stale write is refreshed with one
//	                                   GET of the blob and merged (jsonmerge.Merge)
//
// plus [conflict.WithClassifier] with [AzureBlobReasons]. The query of the
// request (a SAS, restype, comp) is kept on every recovery read.
func AzureBlob(prefix string) []conflict.Option {
	return []conflict.Option{
		conflict.WithRule(pattern("PUT", prefix, "/{container}"), conflict.Rule{Creates: true}),
		conflict.WithRule(pattern("PUT", prefix, "/{container}/{blob...}"), conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithClassifier(conflict.Classifier{Reasons: AzureBlobReasons()}),
	}
}

# Inputs: the project and bucket, where the bucket lives, how deleted or replaced
# objects are protected, and the names of the three service accounts.

variable "project_id" {
  description = "Google Cloud project holding the bucket and the service accounts."
  type        = string
}

variable "bucket_name" {
  description = "Globally unique bucket name, e.g. acme-firedrill-europe."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name: 3 to 63 characters, lowercase letters, digits, '-' and '_'."
  }
}

variable "location" {
  description = "A region (europe-west4), a dual-region (EUR4) or a multi-region (EU). A replica in a dual- or multi-region survives the loss of one region on its own."
  type        = string
}

variable "dual_region_locations" {
  description = "For a configurable dual-region: the two regions (e.g. [\"EUROPE-WEST1\", \"EUROPE-WEST4\"]), with location set to their multi-region (EU). Empty otherwise."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.dual_region_locations) == 0 || length(var.dual_region_locations) == 2
    error_message = "dual_region_locations: none or exactly two regions."
  }
}

variable "storage_class" {
  description = "Default storage class. STANDARD suits drills that restore often; NEARLINE/COLDLINE cost less to keep but charge per read and have minimum storage durations."
  type        = string
  default     = "STANDARD"
}

variable "repository_prefix" {
  description = "Object prefix of the repository in the bucket (firedrill's `prefix`); \"\" for the bucket root."
  type        = string
  default     = "repo"

  validation {
    condition     = !startswith(var.repository_prefix, "/") && !endswith(var.repository_prefix, "/")
    error_message = "repository_prefix: no leading or trailing '/'."
  }
}

variable "noncurrent_version_expiry_days" {
  description = "With versioning (retention_days = 0): days after which a noncurrent version (left by prune, forget, lock release or an overwrite) is deleted for good."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiry_days >= 1
    error_message = "noncurrent_version_expiry_days: at least 1."
  }
}

variable "retention_days" {
  description = <<-EOT
    0 (default): protect with Object Versioning plus soft delete. N > 0: a bucket
    retention policy instead, so no object can be deleted or replaced before it is N days
    old. Cloud Storage does not allow a retention policy and versioning on the same bucket,
    so versioning is off then. Note that firedrill deletes its lock objects when a
    command ends: under a retention policy that delete is refused, so restores and drills
    from this bucket fail at their end (see infra/README.md); use it only once firedrill
    tolerates that.
  EOT
  type        = number
  default     = 0

  validation {
    condition     = var.retention_days >= 0 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days: a whole number of days, 0 for none."
  }
}

variable "retention_locked" {
  description = "Lock the retention policy (Bucket Lock). IRREVERSIBLE: the policy can then never be shortened or removed, and the bucket cannot be deleted until every object has aged past it. Default false so a test deployment can be torn down."
  type        = bool
  default     = false
}

variable "soft_delete_days" {
  description = "Soft delete: deleted or replaced objects stay restorable for this many days (7 to 90), whatever the deleter's rights; 0 turns it off."
  type        = number
  default     = 30

  validation {
    condition     = var.soft_delete_days == 0 || (var.soft_delete_days >= 7 && var.soft_delete_days <= 90)
    error_message = "soft_delete_days: 0, or 7 to 90."
  }
}

variable "kms_key_name" {
  description = "Optional Cloud KMS key (projects/.../cryptoKeys/...) for default encryption (CMEK); null for Google-managed keys. The project's Cloud Storage service agent must be allowed to use it."
  type        = string
  default     = null
}

variable "service_account_prefix" {
  description = "Service accounts are \"<prefix>-writer\", \"<prefix>-drill\" and \"<prefix>-maintenance\"."
  type        = string
  default     = "firedrill"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,17}$", var.service_account_prefix))
    error_message = "service_account_prefix: 5 to 18 characters, lowercase letters, digits and '-', starting with a letter."
  }
}

variable "replica_name" {
  description = "Name of this store in the generated firedrill.toml; default \"gcs-<location>\"."
  type        = string
  default     = ""
}

variable "region_label" {
  description = "The `region` firedrill records for this store (placement counts distinct regions); default the location in lowercase."
  type        = string
  default     = ""
}

variable "jurisdiction" {
  description = "The legal area of the bucket's location for firedrill's placement policy, e.g. \"EU\"; \"\" to leave it out."
  type        = string
  default     = ""
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the objects too (impossible for objects still under a retention policy)."
  type        = bool
  default     = false
}

variable "labels" {
  description = "Labels on the bucket."
  type        = map(string)
  default = {
    app = "firedrill"
  }
}

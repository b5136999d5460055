# Inputs: where the two buckets live, how long data is locked and kept, how it is
# encrypted, and who may assume each of the three firedrill roles.

variable "primary_region" {
  description = "AWS region of the primary bucket, e.g. eu-west-1."
  type        = string
}

variable "replica_region" {
  description = "AWS region of the replica bucket; must differ from primary_region."
  type        = string

  validation {
    condition     = var.replica_region != var.primary_region
    error_message = "replica_region must differ from primary_region: a replica in the same region does not survive the loss of that region."
  }
}

variable "bucket_name_prefix" {
  description = "Bucket names are \"<prefix>-<region>\"; IAM roles are \"<prefix>-writer\", \"-drill\", \"-maintenance\". Globally unique, lowercase."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$", var.bucket_name_prefix))
    error_message = "bucket_name_prefix: 3 to 40 characters, lowercase letters, digits and '-', not starting or ending with '-'."
  }
}

variable "repository_prefix" {
  description = "Key prefix of the repository inside each bucket (firedrill's `prefix`); \"\" for the bucket root."
  type        = string
  default     = "repo"

  validation {
    condition     = !startswith(var.repository_prefix, "/") && !endswith(var.repository_prefix, "/")
    error_message = "repository_prefix: no leading or trailing '/'."
  }
}

variable "object_lock_mode" {
  description = "Default Object Lock retention mode: GOVERNANCE (a principal granted s3:BypassGovernanceRetention can still delete early, so test stacks can be torn down) or COMPLIANCE (nobody, not even the account root, can delete a version before its retention ends)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock_mode)
    error_message = "object_lock_mode: GOVERNANCE or COMPLIANCE."
  }
}

variable "retention_days" {
  description = "Default Object Lock retention of every new object version, in days. Choose at least your longest forget/prune horizon plus the time you need to notice an attack."
  type        = number
  default     = 30

  validation {
    condition     = var.retention_days >= 1 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days: a whole number of days, at least 1."
  }
}

variable "noncurrent_version_expiry_days" {
  description = "Days after which a noncurrent version (left by prune, forget or lock release) is deleted for good. A version still under Object Lock retention is kept until its retention ends."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiry_days >= 1
    error_message = "noncurrent_version_expiry_days: at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which S3 removes the parts of a multipart upload that was never completed (an interrupted replicate or backup)."
  type        = number
  default     = 7
}

variable "sse_algorithm" {
  description = "Default encryption at rest: \"aws:kms\" (a customer-managed KMS key per region, usage logged in CloudTrail) or \"AES256\" (SSE-S3). firedrill encrypts every object itself too (AES-256-GCM); this is the second layer."
  type        = string
  default     = "aws:kms"

  validation {
    condition     = contains(["aws:kms", "AES256"], var.sse_algorithm)
    error_message = "sse_algorithm: \"aws:kms\" or \"AES256\"."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a scheduled KMS key deletion takes effect (7 to 30). Deleting the key makes every object in the bucket unreadable."
  type        = number
  default     = 30
}

variable "writer_principal_arns" {
  description = "ARNs (users, roles, or accounts) allowed to assume the writer role (backup, replicate, verify). Empty: any principal of this account that IAM allows to."
  type        = list(string)
  default     = []
}

variable "drill_principal_arns" {
  description = "ARNs allowed to assume the drill role (restore drills, reports). Empty: any principal of this account that IAM allows to."
  type        = list(string)
  default     = []
}

variable "maintenance_principal_arns" {
  description = "ARNs allowed to assume the maintenance role (forget, prune). Empty: any principal of this account that IAM allows to."
  type        = list(string)
  default     = []
}

variable "assume_role_policy_overrides" {
  description = "A complete trust policy (JSON) per role, keyed writer / drill / maintenance, replacing the principal list: e.g. web identity for EKS (IRSA) or an external ID."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.assume_role_policy_overrides) : contains(["writer", "drill", "maintenance"], k)])
    error_message = "assume_role_policy_overrides: keys are writer, drill and maintenance."
  }
}

variable "jurisdiction" {
  description = "The legal area both buckets are under (firedrill's `jurisdiction`, checked against [placement] allowed_jurisdictions), e.g. \"EU\"; \"\" to leave it out of the generated config."
  type        = string
  default     = ""
}

variable "replica_name" {
  description = "Name of the replica in the generated firedrill.toml (`replicate --to NAME`, drill sources, metric label `replica`); default \"s3-<replica_region>\"."
  type        = string
  default     = ""
}

variable "force_destroy" {
  description = "Let `terraform destroy` empty the buckets. Versions still under retention cannot be deleted anyway (GOVERNANCE: only by a principal allowed to bypass it)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default = {
    "app" = "firedrill"
  }
}

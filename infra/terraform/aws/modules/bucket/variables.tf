# Inputs of one firedrill bucket; the root module's variables.tf documents each choice.

variable "name" {
  description = "Bucket name."
  type        = string
}

variable "object_lock_mode" {
  description = "GOVERNANCE or COMPLIANCE."
  type        = string
}

variable "retention_days" {
  description = "Default Object Lock retention in days."
  type        = number
}

variable "noncurrent_version_expiry_days" {
  description = "Days before a noncurrent version is deleted."
  type        = number
}

variable "abort_incomplete_multipart_days" {
  description = "Days before an incomplete multipart upload is aborted."
  type        = number
}

variable "sse_algorithm" {
  description = "\"aws:kms\" or \"AES256\"."
  type        = string
}

variable "kms_deletion_window_days" {
  description = "KMS key deletion window."
  type        = number
}

variable "firedrill_role_arns" {
  description = "The firedrill roles, denied destructive actions by the bucket policy."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Let terraform destroy empty the bucket."
  type        = bool
  default     = false
}

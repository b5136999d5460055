# The two buckets: the primary in primary_region and the replica in replica_region, each
# with its own KMS key (when sse_algorithm = "aws:kms"). firedrill itself copies the
# data between them (`firedrill replicate`), so no S3 replication rule is set up: the
# replica is written with the same checks as the primary and stays a separate copy
# that a deletion on the primary never reaches.

data "aws_caller_identity" "current" {
  provider = aws.primary
}

data "aws_partition" "current" {
  provider = aws.primary
}

locals {
  buckets = {
    primary = "${var.bucket_name_prefix}-${var.primary_region}"
    replica = "${var.bucket_name_prefix}-${var.replica_region}"
  }
  bucket_arns = [for name in values(local.buckets) : "arn:${data.aws_partition.current.partition}:s3:::${name}"]
  # Object keys of the repository in each bucket: "<bucket ARN>/<prefix>/..."
  key_prefix   = var.repository_prefix == "" ? "" : "${var.repository_prefix}/"
  replica_name = var.replica_name != "" ? var.replica_name : "s3-${var.replica_region}"
  role_arns    = [for role in aws_iam_role.this : role.arn]
}

module "primary_bucket" {
  source = "./modules/bucket"
  providers = {
    aws = aws.primary
  }

  name                            = local.buckets.primary
  object_lock_mode                = var.object_lock_mode
  retention_days                  = var.retention_days
  noncurrent_version_expiry_days  = var.noncurrent_version_expiry_days
  abort_incomplete_multipart_days = var.abort_incomplete_multipart_days
  sse_algorithm                   = var.sse_algorithm
  kms_deletion_window_days        = var.kms_deletion_window_days
  firedrill_role_arns             = local.role_arns
  force_destroy                   = var.force_destroy
}

module "replica_bucket" {
  source = "./modules/bucket"
  providers = {
    aws = aws.replica
  }

  name                            = local.buckets.replica
  object_lock_mode                = var.object_lock_mode
  retention_days                  = var.retention_days
  noncurrent_version_expiry_days  = var.noncurrent_version_expiry_days
  abort_incomplete_multipart_days = var.abort_incomplete_multipart_days
  sse_algorithm                   = var.sse_algorithm
  kms_deletion_window_days        = var.kms_deletion_window_days
  firedrill_role_arns             = local.role_arns
  force_destroy                   = var.force_destroy
}

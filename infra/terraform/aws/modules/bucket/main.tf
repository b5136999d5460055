# One firedrill bucket in one region: versioned, Object Lock with a default retention,
# encrypted by default (a KMS key of its own region, or SSE-S3), never public, TLS 1.2+
# only, with lifecycle rules that clean up noncurrent versions and abandoned multipart
# uploads. Instantiated once per region by the root module.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

data "aws_partition" "current" {}

locals {
  kms = var.sse_algorithm == "aws:kms"
  # Built from the name (not read from the bucket) so the policy is known at plan time.
  arn = "arn:${data.aws_partition.current.partition}:s3:::${var.name}"
}

resource "aws_kms_key" "this" {
  count = local.kms ? 1 : 0

  description             = "firedrill: default encryption of s3://${var.name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  # No `policy`: the default key policy lets this account's IAM policies grant use of
  # the key, which is how the firedrill roles get it (see iam.tf).
}

resource "aws_kms_alias" "this" {
  count = local.kms ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_s3_bucket" "this" {
  bucket        = var.name
  force_destroy = var.force_destroy
  # Object Lock can be switched on only while the bucket is created; S3 turns
  # versioning on with it.
  object_lock_enabled = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: the bucket policy and IAM decide
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

# Every new object version is locked for `retention_days` from its creation. A plain
# DELETE (what firedrill's prune, forget and lock release send) still succeeds: on a
# versioned bucket it only adds a delete marker, and the locked version stays
# recoverable until its retention ends and the noncurrent-version rule removes it.
resource "aws_s3_bucket_object_lock_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = local.kms ? aws_kms_key.this[0].arn : null
    }
    # S3 Bucket Keys: far fewer KMS requests (and costs) for many small objects.
    bucket_key_enabled = local.kms ? true : null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiry_days
    }
  }

  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"
    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.arn,
      "${local.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyTlsOlderThan12"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.arn,
      "${local.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  # Defence in depth: even if someone later attaches a broader policy to a firedrill
  # role, it still cannot destroy versions, weaken the lock or the bucket's rules.
  dynamic "statement" {
    for_each = length(var.firedrill_role_arns) > 0 ? [1] : []

    content {
      sid    = "DenyDestructiveActionsToFiredrillRoles"
      effect = "Deny"
      actions = [
        "s3:BypassGovernanceRetention",
        "s3:DeleteObjectVersion",
        "s3:PutObjectRetention",
        "s3:PutObjectLegalHold",
        "s3:PutBucketObjectLockConfiguration",
        "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:DeleteBucket",
      ]
      resources = [
        local.arn,
        "${local.arn}/*",
      ]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = var.firedrill_role_arns
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # Applying a policy while the public access block is still being created can fail.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

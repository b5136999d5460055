# Least-privilege roles for firedrill, each scoped to the repository prefix of both
# buckets (and their KMS keys):
#
#   writer       backup, replicate, verify, replicas, plan check: read and write objects;
#                delete only its own lock objects (<prefix>/locks/*), which backup and
#                replicate take and release. No s3:DeleteObjectVersion, no
#                s3:BypassGovernanceRetention, no s3:PutObjectRetention.
#   drill        restore drills: read everything; write only lock objects (a restore
#                holds a shared lock on the store it reads) and drill reports
#                (<prefix>/reports/*, kept in the repository on every store); delete
#                only lock objects.
#   maintenance  forget and prune: the writer's rights plus DeleteObject on the whole
#                prefix. Object Lock still protects every version under retention: on a
#                versioned bucket a DELETE only adds a delete marker, and nothing here
#                can remove a version (s3:DeleteObjectVersion) or bypass retention.
#
# The bucket policies deny these roles the destructive actions outright (see
# modules/bucket), so a broader policy attached later does not undo this.

locals {
  roles = {
    writer = {
      description = "firedrill backup/replicate/verify: read and write the repository, no deletes except its own locks"
      principals  = var.writer_principal_arns
    }
    drill = {
      description = "firedrill restore drills: read the repository, write locks and drill reports"
      principals  = var.drill_principal_arns
    }
    maintenance = {
      description = "firedrill forget/prune: may delete (Object Lock still keeps every locked version)"
      principals  = var.maintenance_principal_arns
    }
  }

  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  repository_objects = [for arn in local.bucket_arns : "${arn}/${local.key_prefix}*"]
  lock_objects       = [for arn in local.bucket_arns : "${arn}/${local.key_prefix}locks/*"]
  report_objects     = [for arn in local.bucket_arns : "${arn}/${local.key_prefix}reports/*"]

  use_kms      = var.sse_algorithm == "aws:kms"
  kms_key_arns = local.use_kms ? [module.primary_bucket.kms_key_arn, module.replica_bucket.kms_key_arn] : []
  # KMS use only through S3 in the two regions, never directly.
  kms_via_s3 = [
    "s3.${var.primary_region}.${data.aws_partition.current.dns_suffix}",
    "s3.${var.replica_region}.${data.aws_partition.current.dns_suffix}",
  ]
}

data "aws_iam_policy_document" "trust" {
  provider = aws.primary
  for_each = local.roles

  statement {
    sid     = "AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = length(each.value.principals) > 0 ? each.value.principals : [local.account_root]
    }
  }
}

resource "aws_iam_role" "this" {
  provider = aws.primary
  for_each = local.roles

  name               = "${var.bucket_name_prefix}-${each.key}"
  description        = each.value.description
  assume_role_policy = lookup(var.assume_role_policy_overrides, each.key, data.aws_iam_policy_document.trust[each.key].json)
}

data "aws_iam_policy_document" "writer" {
  provider = aws.primary

  statement {
    sid       = "ListRepositoryBuckets"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"]
    resources = local.bucket_arns
  }

  statement {
    sid = "ReadWriteRepositoryObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = local.repository_objects
  }

  statement {
    sid       = "ReleaseOwnLocks"
    actions   = ["s3:DeleteObject"]
    resources = local.lock_objects
  }

  dynamic "statement" {
    for_each = local.use_kms ? [1] : []

    content {
      sid       = "UseBucketKeysThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_s3
      }
    }
  }
}

data "aws_iam_policy_document" "drill" {
  provider = aws.primary

  statement {
    sid       = "ListRepositoryBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = local.bucket_arns
  }

  statement {
    sid       = "ReadRepositoryObjects"
    actions   = ["s3:GetObject"]
    resources = local.repository_objects
  }

  statement {
    sid       = "WriteLocksAndReports"
    actions   = ["s3:PutObject"]
    resources = concat(local.lock_objects, local.report_objects)
  }

  statement {
    sid       = "ReleaseOwnLocks"
    actions   = ["s3:DeleteObject"]
    resources = local.lock_objects
  }

  dynamic "statement" {
    for_each = local.use_kms ? [1] : []

    content {
      sid       = "UseBucketKeysThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_s3
      }
    }
  }
}

data "aws_iam_policy_document" "maintenance" {
  provider = aws.primary

  statement {
    sid       = "ListRepositoryBuckets"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"]
    resources = local.bucket_arns
  }

  statement {
    sid = "ReadWriteDeleteRepositoryObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = local.repository_objects
  }

  dynamic "statement" {
    for_each = local.use_kms ? [1] : []

    content {
      sid       = "UseBucketKeysThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_s3
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  provider = aws.primary
  for_each = {
    writer      = data.aws_iam_policy_document.writer.json
    drill       = data.aws_iam_policy_document.drill.json
    maintenance = data.aws_iam_policy_document.maintenance.json
  }

  name   = "firedrill-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}
